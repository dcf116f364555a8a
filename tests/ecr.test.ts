import { expect } from "chai";
import { lifecyclePolicy } from "../components/ecrImage";
import { buildOnPreview, commitTag, commitTime, Git, previousTag } from "../lib/build";
import { named, ofType, runStack, stackRun, STACKS } from "./harness";

const noGit: Git = () => {
    throw new Error("not a git repository");
};
const fakeGit = (answers: Record<string, string>): Git => (args) => {
    const key = args.join(" ");
    if (!(key in answers)) {
        throw new Error(`unexpected git ${key}`);
    }
    return answers[key];
};

describe("ECR build-and-push", () => {
    for (const stack of STACKS) {
        it(`${stack}: repositories scan on push, have immutable tags and KMS encryption`, async () => {
            const repos = ofType(await stackRun(stack), "aws:ecr/repository:Repository");
            expect(repos.map((r) => r.name).sort()).to.deep.equal(["app", "gitlab"]);
            for (const r of repos) {
                expect(r.inputs.imageScanningConfiguration).to.deep.equal({ scanOnPush: true });
                expect(r.inputs.imageTagMutability).to.equal("IMMUTABLE");
                expect(r.inputs.encryptionConfigurations).to.deep.equal([{ encryptionType: "KMS" }]);
            }
        });
    }

    it("keeps the configured number of tagged images per stack and expires untagged after a day", async () => {
        const expected = { dev: 20, prod: 100 };
        for (const stack of STACKS) {
            const run = await stackRun(stack);
            const policies = ofType(run, "aws:ecr/lifecyclePolicy:LifecyclePolicy");
            expect(policies).to.have.length(2);
            for (const p of policies) {
                const rules = JSON.parse(p.inputs.policy).rules;
                const untagged = rules.find((r: any) => r.selection.tagStatus === "untagged");
                const tagged = rules.find((r: any) => r.selection.tagStatus === "tagged");
                expect(untagged.selection).to.include({ countType: "sinceImagePushed", countUnit: "days", countNumber: 1 });
                expect(tagged.selection).to.include({ countType: "imageCountMoreThan", countNumber: expected[stack] });
                expect(tagged.selection.tagPatternList).to.deep.equal(["*"]);
            }
        }
    });

    it("lifecycle rules have distinct priorities, untagged first", () => {
        const rules = JSON.parse(lifecyclePolicy(7)).rules;
        expect(rules.map((r: any) => r.rulePriority)).to.deep.equal([1, 2]);
        expect(rules.map((r: any) => r.action.type)).to.deep.equal(["expire", "expire"]);
    });

    it("references every image by digest, never by tag", async () => {
        for (const stack of STACKS) {
            const { outputs } = await stackRun(stack);
            for (const key of ["gitlabImageRef", "appImageRef"]) {
                expect(outputs[key], `${stack} ${key}`).to.match(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/[a-z]+@sha256:[0-9a-f]{64}$/);
            }
        }
    });

    it("builds for linux/amd64 from the image folders, tagged with the commit, pushed with ECR credentials", async () => {
        const run = await runStack("dev", { env: { CI_COMMIT_SHORT_SHA: "cafe1234", CI_COMMIT_BEFORE_SHA: "beef5678aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" } });
        const images = ofType(run, "docker:index/image:Image");
        expect(images.map((i) => i.inputs.build.context).sort()).to.deep.equal(["app", "gitlab"]);
        for (const img of images) {
            expect(img.inputs.imageName).to.match(/:cafe1234$/);
            expect(img.inputs.build.platform).to.equal("linux/amd64");
            expect(img.inputs.build.cacheFrom.images).to.have.length(1);
            expect(img.inputs.build.cacheFrom.images[0]).to.match(/:beef5678$/);
            expect(img.inputs.registry.username).to.equal("AWS");
            expect(img.inputs.registry.server).to.equal(img.inputs.imageName.replace(/:cafe1234$/, ""));
            expect(img.inputs.buildOnPreview).to.equal(false);
            // The registry password must stay secret in state and in the plan.
            expect(img.secretPaths).to.include("registry");
        }
        expect(run.invokes.filter((i) => i.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken")).to.have.length(2);
        const app = named(run, "docker:index/image:Image", "app");
        expect(app.inputs.build.args.GIT_COMMIT_SHA).to.equal("cafe1234");
    });

    it("lets a merge-request preview build (never push) only when asked", async () => {
        const run = await runStack("dev", { env: { CI_COMMIT_SHORT_SHA: "cafe1234", PLATFORM_BUILD_ON_PREVIEW: "true" } });
        for (const img of ofType(run, "docker:index/image:Image")) {
            expect(img.inputs.buildOnPreview).to.equal(true);
        }
        expect(buildOnPreview({ PLATFORM_BUILD_ON_PREVIEW: "yes" })).to.equal(false);
    });

    describe("image tags", () => {
        it("prefer CI_COMMIT_SHORT_SHA, then git, then fail clearly", () => {
            expect(commitTag({ CI_COMMIT_SHORT_SHA: "abcd1234" }, noGit)).to.equal("abcd1234");
            expect(commitTag({}, fakeGit({ "rev-parse --short=8 HEAD": "0123abcd", "status --porcelain --untracked-files=all": "" }))).to.equal("0123abcd");
            expect(() => commitTag({}, noGit)).to.throw(/CI_COMMIT_SHORT_SHA is not set and `git rev-parse --short=8 HEAD` failed/);
        });

        it("mark uncommitted changes with a hash of them, so an immutable tag never gets other bytes", () => {
            const tree = (diff: string, untracked: string, blobs: string) =>
                fakeGit({
                    "rev-parse --short=8 HEAD": "0123abcd",
                    "status --porcelain --untracked-files=all": " M index.ts",
                    "diff HEAD --binary": diff,
                    "ls-files --others --exclude-standard": untracked,
                    ...(untracked ? { [`hash-object -- ${untracked.split("\n").join(" ")}`]: blobs } : {}),
                });
            const a = commitTag({}, tree("diff a", "", ""));
            expect(a).to.match(/^0123abcd-dirty-[0-9a-f]{8}$/);
            expect(commitTag({}, tree("diff a", "", ""))).to.equal(a);
            expect(commitTag({}, tree("diff b", "", ""))).to.not.equal(a);
            expect(commitTag({}, tree("diff a", "new.txt", "blob1"))).to.not.equal(commitTag({}, tree("diff a", "new.txt", "blob2")));
        });

        it("cache from the parent commit, ignoring GitLab's all-zero before-SHA", () => {
            expect(previousTag({ CI_COMMIT_BEFORE_SHA: "1234567890abcdef" }, noGit)).to.equal("12345678");
            expect(previousTag({ CI_COMMIT_BEFORE_SHA: "0000000000000000000000000000000000000000" }, fakeGit({ "rev-parse --short=8 HEAD~1": "feed0000" }))).to.equal("feed0000");
            expect(previousTag({}, noGit)).to.equal(undefined);
        });

        it("stamp the commit time, not the wall clock, so rebuilds are reproducible", () => {
            expect(commitTime({ CI_COMMIT_TIMESTAMP: "2026-01-02T03:04:05+00:00" }, noGit)).to.equal("2026-01-02T03:04:05+00:00");
            expect(commitTime({}, fakeGit({ "show -s --format=%cI HEAD": "2026-05-06T07:08:09Z" }))).to.equal("2026-05-06T07:08:09Z");
        });

        it("fail the whole program, before any resource, when no tag can be found", async () => {
            const run = await runStack("dev", { env: { CI_COMMIT_SHORT_SHA: "", GIT_DIR: "/nonexistent" } });
            expect(run.error?.message).to.match(/cannot tag images/);
            expect(run.resources).to.deep.equal([]);
        });
    });
});
