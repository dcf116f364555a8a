import { expect } from "chai";
import { EcrImage, isNotThere } from "../../components/ecrImage";
import { named, ofType, runComponent } from "../../sim/harness";
import { ecrImageArgs } from "./fixtures";

const image = "docker:index/image:Image";
const URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/platform-test-app";

describe("component: EcrImage", () => {
    it("caches from the previous build's tag when there is one, and names no cache when there is none", async () => {
        const cached = await runComponent(() => new EcrImage("app", ecrImageArgs({ tag: "11111111-amd64", cacheFromTag: "22222222-amd64" })));
        const cold = await runComponent(() => new EcrImage("app", ecrImageArgs({ cacheFromTag: undefined })));
        expect(cached.error).to.equal(undefined);
        expect(named(cached, image, "app-image").inputs.build.cacheFrom).to.deep.equal({ images: [`${URL}:22222222-amd64`] });
        expect(named(cold, image, "app-image").inputs.build).to.not.have.property("cacheFrom");
        expect(named(cached, image, "app-image").inputs.imageName).to.equal(`${URL}:11111111-amd64`);
    });

    it("defaults the Dockerfile to the context's, the build args to the inline-cache flag; exports the pushed image by digest", async () => {
        const run = await runComponent(() => new EcrImage("runner", ecrImageArgs({ buildContext: "runner", buildArgs: undefined, dockerfile: undefined })));
        const built = named(run, image, "runner-image");
        expect(built.inputs.build).to.deep.include({ context: "runner", dockerfile: "runner/Dockerfile", args: { BUILDKIT_INLINE_CACHE: "1" } });
        expect(run.outputs.imageRef).to.equal(built.state.repoDigest);
        expect(run.outputs.imageRef).to.match(/platform-test-runner@sha256:[0-9a-f]{64}$/);
    });

    it("a tag ECR already holds is used by its digest: no build, no push, no registry token", async () => {
        const digest = `sha256:${"c".repeat(64)}`;
        const run = await runComponent(() => new EcrImage("app", ecrImageArgs({ tag: "11111111-amd64" })), { registry: { "platform-test-app:11111111-amd64": digest } });
        expect(run.error).to.equal(undefined);
        expect(ofType(run, image)).to.deep.equal([]);
        expect(run.outputs.imageRef).to.equal(`${URL}@${digest}`);
        expect(run.invokes.map((i) => i.token)).to.deep.equal(["aws:ecr/getImage:getImage"]);
        expect(run.invokes[0].args).to.deep.equal({ repositoryName: "platform-test-app", imageTag: "11111111-amd64" });
        // Another tag in the same repository is no reason to skip this one.
        const other = await runComponent(() => new EcrImage("app", ecrImageArgs({ tag: "33333333-amd64" })), { registry: { "platform-test-app:11111111-amd64": digest } });
        expect(ofType(other, image).map((r) => r.name)).to.deep.equal(["app-image"]);
    });

    it("only ECR's not-found answers count as \"not pushed yet\"; anything else (credentials, permissions) fails the program", () => {
        const absent = [
            "reading ECR Images: ImageNotFoundException: The image with imageId {imageTag:'11111111-amd64'} does not exist within the repository with name 'platform-dev-app'",
            "reading ECR Images: couldn't find resource",
            "reading ECR Images: RepositoryNotFoundException: The repository with name 'platform-dev-app' does not exist",
            "Your query returned no results. Please change your search criteria and try again.",
        ];
        expect(absent.filter((m) => !isNotThere(m))).to.deep.equal([]);
        expect(isNotThere("reading ECR Images: AccessDeniedException: not authorized to perform ecr:DescribeImages")).to.equal(false);
        expect(isNotThere("reading ECR Images: ExpiredTokenException: The security token included in the request is expired")).to.equal(false);
    });

    it("a preview declares no build (the docker provider would ping a Docker engine) and leaves the new image unknown", async () => {
        const preview = await runComponent(() => new EcrImage("app", ecrImageArgs()), { preview: true });
        expect(preview.error).to.equal(undefined);
        expect(ofType(preview, image)).to.deep.equal([]);
        expect(preview.outputs.imageRef).to.equal(undefined);
        expect(preview.invokes.map((i) => i.token)).to.deep.equal(["aws:ecr/getImage:getImage"]);
        // A tag ECR has is known in a preview too.
        const digest = `sha256:${"e".repeat(64)}`;
        const known = await runComponent(() => new EcrImage("app", ecrImageArgs()), { preview: true, registry: { "platform-test-app:11111111-amd64": digest } });
        expect(known.outputs.imageRef).to.equal(`${URL}@${digest}`);
    });

    it("forceDelete follows context.protect (a protected stack keeps its images on destroy)", async () => {
        const kept = await runComponent(() => new EcrImage("app", ecrImageArgs({ context: { protect: true } })));
        const disposable = await runComponent(() => new EcrImage("app", ecrImageArgs({ context: { protect: false } })));
        expect(named(kept, "aws:ecr/repository:Repository", "app").inputs.forceDelete).to.equal(false);
        expect(named(disposable, "aws:ecr/repository:Repository", "app").inputs.forceDelete).to.equal(true);
    });
});
