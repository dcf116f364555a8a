import { expect } from "chai";
import { EcrImage, isNotThere, lostImageLookup } from "../../components/ecrImage";
import { named, ofType, runComponent } from "../../sim/harness";
import { ecrImageArgs } from "./fixtures";

const image = "docker:index/image:Image";
const MARKER = "aws:ssm/parameter:Parameter";
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

    it("a tag ECR holds without this stack's marker (the push command's, a retried up's, an older commit's) is used by its digest: no build, no push", async () => {
        const digest = `sha256:${"c".repeat(64)}`;
        const run = await runComponent(() => new EcrImage("app", ecrImageArgs({ tag: "11111111-amd64" })), { registry: { "platform-test-app:11111111-amd64": digest } });
        expect(run.error).to.equal(undefined);
        expect(ofType(run, image)).to.deep.equal([]);
        expect(ofType(run, MARKER)).to.deep.equal([]);
        expect(run.outputs.imageRef).to.equal(`${URL}@${digest}`);
        expect(run.invokes.map((i) => [i.token, i.args]).sort()).to.deep.equal([
            ["aws:ecr/getImage:getImage", { repositoryName: "platform-test-app", imageTag: "11111111-amd64" }],
            ["aws:ssm/getParameter:getParameter", { name: "/platform-test-app/built-by-pulumi" }],
        ]);
        // A marker naming another tag (this stack built 00000000, and 11111111 is an older commit
        // deployed again) is no marker for this one.
        const older = await runComponent(() => new EcrImage("app", ecrImageArgs({ tag: "11111111-amd64" })), {
            registry: { "platform-test-app:11111111-amd64": digest, "ssm:/platform-test-app/built-by-pulumi": "00000000-amd64" },
        });
        expect(ofType(older, image)).to.deep.equal([]);
        // Another tag in the same repository is no reason to skip this one.
        const other = await runComponent(() => new EcrImage("app", ecrImageArgs({ tag: "33333333-amd64" })), { registry: { "platform-test-app:11111111-amd64": digest } });
        expect(ofType(other, image).map((r) => r.name)).to.deep.equal(["app-image"]);
    });

    it("the deploy after a build declares that build again, unchanged (no delete in later previews), while ECR's digest stays what tasks run", async () => {
        const built = await runComponent(() => new EcrImage("app", ecrImageArgs()));
        const push = named(built, image, "app-image");
        // The marker is written after the push (dependsOn), so a failed or interrupted push leaves none.
        const marker = named(built, MARKER, "app-built");
        expect(marker.inputs).to.include({ name: "/platform-test-app/built-by-pulumi", type: "String", value: "11111111-amd64", overwrite: true });
        expect(marker.dependencies).to.include(push.urn);
        // The next deploy, against ECR and SSM as this one left them (its push and its marker).
        expect(built.registry).to.deep.include({ "ssm:/platform-test-app/built-by-pulumi": "11111111-amd64" });
        const next = await runComponent(() => new EcrImage("app", ecrImageArgs()), { registry: built.registry });
        expect(next.error).to.equal(undefined);
        const again = named(next, image, "app-image");
        expect(again.urn).to.equal(push.urn);
        // The provider diffs the inputs (pulumi-docker v4.11.2 provider.go Diff; the context by the hash
        // its Check adds): the same ones, and the same context hash, are no diff, nothing built or pushed.
        expect(again.inputs).to.deep.equal(push.inputs);
        expect(again.state.build.contextDigest).to.equal(push.state.build.contextDigest);
        expect(named(next, MARKER, "app-built").inputs).to.deep.equal(marker.inputs);
        expect(next.outputs.imageRef).to.equal(built.outputs.imageRef);
    });

    it("a build whose image ECR lost (the marker names the tag, ECR lacks it, the build has no diff so nothing pushes) fails the deploy with one line naming the replace; the replace's push passes", async () => {
        const registry = { "ssm:/platform-test-app/built-by-pulumi": "11111111-amd64" };
        const pauses = lostImageLookup.pausesSeconds;
        lostImageLookup.pausesSeconds = [0, 0, 0];
        const lost = await runComponent(() => new EcrImage("app", ecrImageArgs()), { registry, unchangedBuilds: true }).finally(() => {
            lostImageLookup.pausesSeconds = pauses;
        });
        const urn = "urn:pulumi:component::platform::platform:ecr:EcrImage$docker:index/image:Image::app-image";
        expect(named(lost, image, "app-image").urn).to.equal(urn);
        const digest = named(lost, image, "app-image").state.repoDigest.split("@")[1];
        // (The SDK prefixes the property whose value failed.)
        expect(lost.error?.message).to.match(/^[^\n]*$/);
        expect(lost.error?.message).to.include(
            `ECR has no platform-test-app@${digest} (tag 11111111-amd64), which this stack's build pushed and still records: if \`aws ecr describe-images --repository-name platform-test-app --image-ids imageDigest=${digest}\` finds nothing, run \`pulumi up --replace '${urn}'\``,
        );
        // Asked once and again after each pause (a digest just pushed may not be listed yet).
        expect(lost.invokes.filter((i) => i.args.imageDigest === digest)).to.have.length(4);
        // `pulumi up --replace`: the build is created again, which pushes the tag; the same check then passes.
        const replaced = await runComponent(() => new EcrImage("app", ecrImageArgs()), { registry });
        expect(replaced.error).to.equal(undefined);
        expect(replaced.outputs.imageRef).to.equal(`${URL}@${digest}`);
        // A preview has no digest of a new build to ask about, and asks nothing.
        const preview = await runComponent(() => new EcrImage("app", ecrImageArgs()), { registry, unchangedBuilds: true, preview: true });
        expect(preview.error).to.equal(undefined);
        expect(preview.invokes.filter((i) => i.args.imageDigest !== undefined)).to.deep.equal([]);
    });

    it("only the provider's not-found answers count as \"not there\"; anything else (credentials, permissions) fails the program", () => {
        // terraform-provider-aws v6 (what @pulumi/aws 7.x bundles; read from hashicorp/terraform-provider-aws):
        // - internal/service/ecr/image_data_source.go:171-175 findImageDetails turns ImageNotFoundException and
        //   RepositoryNotFoundException into retry.NotFoundError, whose Error() is "couldn't find resource"
        //   (terraform-plugin-sdk/v2 helper/retry/error.go), and :115 wraps it as "reading ECR Images: %s";
        //   :119 is the empty answer's text;
        // - internal/service/ssm/parameter.go:362 findParameterByName does the same for ParameterNotFound, and
        //   internal/service/ssm/parameter_data_source.go:66 wraps it as "reading SSM Parameter (%s): %s".
        const absent = [
            "reading ECR Images: couldn't find resource",
            "Your query returned no results. Please change your search criteria and try again.",
            "reading SSM Parameter (/platform-dev-app/built-by-pulumi): couldn't find resource",
        ];
        expect(absent.filter((m) => !isNotThere(m))).to.deep.equal([]);
        // Any other error is the provider's wrapping of the AWS SDK's (image_data_source.go:115, parameter_data_source.go:66).
        expect(isNotThere("reading ECR Images: operation error ECR: DescribeImages, https response error StatusCode: 400, api error AccessDeniedException: not authorized to perform ecr:DescribeImages")).to.equal(false);
        expect(isNotThere("reading SSM Parameter (/platform-dev-app/built-by-pulumi): operation error SSM: GetParameter, api error ExpiredTokenException: The security token included in the request is expired")).to.equal(false);
    });

    it("AWS refusing the marker's read (the grant not applied yet) fails the program: no guess that there is no marker, nothing declared", async () => {
        const run = await runComponent(() => new EcrImage("app", ecrImageArgs()), { denied: ["aws:ssm/getParameter:getParameter"] });
        expect(run.error?.message).to.match(/AccessDeniedException: .* is not authorized to perform: ssm:GetParameter/);
        expect(ofType(run, image)).to.deep.equal([]);
        expect(ofType(run, MARKER)).to.deep.equal([]);
        // Refused in a preview too (the admin gate's preview stops the deploy before anything is applied).
        const preview = await runComponent(() => new EcrImage("app", ecrImageArgs()), { denied: ["aws:ssm/getParameter:getParameter"], preview: true });
        expect(preview.error?.message).to.match(/AccessDeniedException/);
        expect(ofType(preview, image)).to.deep.equal([]);
    });

    it("a preview declares the build as `up` would (built on up only), with the registry's host and no login", async () => {
        const preview = await runComponent(() => new EcrImage("app", ecrImageArgs()), { preview: true });
        expect(preview.error).to.equal(undefined);
        const planned = named(preview, image, "app-image");
        expect(planned.inputs).to.include({ buildOnPreview: false, skipPush: false, imageName: `${URL}:11111111-amd64` });
        expect(planned.inputs.registry).to.deep.equal({ server: URL.split("/")[0] });
        expect(preview.invokes.map((i) => i.token).sort()).to.deep.equal(["aws:ecr/getImage:getImage", "aws:ssm/getParameter:getParameter"]);
        // A tag ECR has is known in a preview too.
        const digest = `sha256:${"e".repeat(64)}`;
        const known = await runComponent(() => new EcrImage("app", ecrImageArgs()), { preview: true, registry: { "platform-test-app:11111111-amd64": digest } });
        expect(known.outputs.imageRef).to.equal(`${URL}@${digest}`);
    });

    it("never deletes a repository with its images, in an unprotected stack too (another stack may run them by digest, images.promoteFrom)", async () => {
        const kept = await runComponent(() => new EcrImage("app", ecrImageArgs({ context: { protect: true } })));
        const dev = await runComponent(() => new EcrImage("app", ecrImageArgs({ context: { protect: false } })));
        expect(named(kept, "aws:ecr/repository:Repository", "app").inputs.forceDelete).to.equal(false);
        expect(named(dev, "aws:ecr/repository:Repository", "app").inputs.forceDelete).to.equal(false);
    });
});
