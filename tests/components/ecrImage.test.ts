import { expect } from "chai";
import { EcrImage, lastImageRef } from "../../components/ecrImage";
import { named, runComponent } from "../../sim/harness";
import { ecrImageArgs } from "./fixtures";

const push = "command:local:Command";

describe("component: EcrImage", () => {
    it("caches from the previous build's tag when there is one, and names no cache when there is none", async () => {
        const cached = await runComponent(() => new EcrImage("app", ecrImageArgs({ tag: "11111111-amd64", cacheFromTag: "22222222-amd64" })));
        const cold = await runComponent(() => new EcrImage("app", ecrImageArgs({ cacheFromTag: undefined })));
        expect(cached.error).to.equal(undefined);
        expect(named(cached, push, "app-push").inputs.environment.CACHE_FROM_TAG).to.equal("22222222-amd64");
        expect(named(cold, push, "app-push").inputs.environment).to.not.have.property("CACHE_FROM_TAG");
        // The cache tag is no trigger: only the tag and the repository re-run the push.
        const repo = named(cached, "aws:ecr/repository:Repository", "app");
        expect(named(cached, push, "app-push").inputs.triggers).to.deep.equal([repo.state.repositoryUrl, "11111111-amd64"]);
        expect(named(cached, push, "app-push").inputs.triggers).to.deep.equal(named(cold, push, "app-push").inputs.triggers);
    });

    it("defaults the Dockerfile to the context's, the build args to none; exports the image by digest", async () => {
        const run = await runComponent(() => new EcrImage("runner", ecrImageArgs({ buildContext: "runner", buildArgs: undefined, dockerfile: undefined })));
        const env = named(run, push, "runner-push").inputs.environment;
        expect(env).to.include({ CONTEXT: "runner", DOCKERFILE: "runner/Dockerfile", BUILD_ARGS: "{}", REPOSITORY_NAME: "platform-test-runner" });
        expect(run.outputs.imageRef).to.equal(lastImageRef(named(run, push, "runner-push").state.stdout));
        expect(run.outputs.imageRef).to.match(/platform-test-runner@sha256:[0-9a-f]{64}$/);
    });

    it("forceDelete follows context.protect (a protected stack keeps its images on destroy)", async () => {
        const kept = await runComponent(() => new EcrImage("app", ecrImageArgs({ context: { protect: true } })));
        const disposable = await runComponent(() => new EcrImage("app", ecrImageArgs({ context: { protect: false } })));
        expect(named(kept, "aws:ecr/repository:Repository", "app").inputs.forceDelete).to.equal(false);
        expect(named(disposable, "aws:ecr/repository:Repository", "app").inputs.forceDelete).to.equal(true);
    });
});
