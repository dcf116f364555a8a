import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { imageRefOf, lifecyclePolicy } from "../components/ecrImage";
import { Git, imageSource } from "../facts/imageSource";
import { realGit } from "../hooks/git";
import { commitFigures } from "../tools/commitFigures";
import { named, ofType, runStack, stackRun, STACKS, StackRun } from "../sim/harness";

describe("ECR build-and-push", () => {
    for (const stack of STACKS) {
        it(`${stack}: repositories scan on push, have immutable tags and KMS encryption`, async () => {
            const repos = ofType(await stackRun(stack), "aws:ecr/repository:Repository");
            // The runner manager's image only where the stack runs a runner (prod).
            const images = stack === "prod" ? ["app", "gitlab", "runner"] : ["app", "gitlab"];
            expect(repos.map((r) => r.name).sort()).to.deep.equal(images);
            // Named after project and stack: dev and prod can share an account.
            expect(repos.map((r) => r.inputs.name).sort()).to.deep.equal(images.map((i) => `platform-${stack}-${i}`));
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
            expect(policies).to.have.length(stack === "prod" ? 3 : 2);
            for (const p of policies) {
                const rules = JSON.parse(p.inputs.policy).rules;
                const untagged = rules.find((r: any) => r.selection.tagStatus === "untagged");
                const tagged = rules.find((r: any) => r.selection.tagStatus === "tagged" && r.selection.tagPatternList[0] === "*");
                const promoted = rules.find((r: any) => r.selection.tagStatus === "tagged" && r.selection.tagPatternList[0] === "promoted-by-*");
                expect(promoted.selection).to.include({ countType: "imageCountMoreThan", countNumber: expected[stack] });
                expect(untagged.selection).to.include({ countType: "sinceImagePushed", countUnit: "days", countNumber: 1 });
                expect(tagged.selection).to.include({ countType: "imageCountMoreThan", countNumber: expected[stack] });
                expect(tagged.selection.tagPatternList).to.deep.equal(["*"]);
            }
        }
    });

    it("lifecycle rules have distinct priorities: what other stacks run (promoted) first, then untagged, then the count", () => {
        const rules = JSON.parse(lifecyclePolicy(7)).rules;
        expect(rules.map((r: any) => r.rulePriority)).to.deep.equal([1, 2, 3]);
        expect(rules.map((r: any) => r.selection.tagStatus)).to.deep.equal(["tagged", "untagged", "tagged"]);
        expect(rules.map((r: any) => r.action.type)).to.deep.equal(["expire", "expire", "expire"]);
    });

    it("references every image by digest, never by tag", async () => {
        for (const stack of STACKS) {
            const { outputs } = await stackRun(stack);
            for (const key of ["gitlabImageRef", "appImageRef"]) {
                expect(outputs[key], `${stack} ${key}`).to.match(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/platform-[a-z]+-[a-z]+@sha256:[0-9a-f]{64}$/);
            }
        }
    });

    it("builds and pushes each image with docker.Image from its folder's export, by digest, with no registry login in any input (the state)", async () => {
        const run = await stackRun("dev");
        const images = ofType(run, "docker:index/image:Image");
        expect(images.map((i) => i.name).sort()).to.deep.equal(["app-image", "gitlab-image"]);
        for (const built of images) {
            const image = built.name.replace(/-image$/, "");
            const repo = named(run, "aws:ecr/repository:Repository", image);
            const source = imageSource(image, "amd64", realGit);
            // The tag names the folder's commit and the architecture; the context is that commit's export
            // (or, while this checkout's folder has uncommitted changes, the working tree's under the dirty hash).
            expect(source.tag).to.match(new RegExp(`^${source.commit}(-dirty-[0-9a-f]{8})?-amd64$`));
            expect(built.inputs.imageName).to.equal(`${repo.state.repositoryUrl}:${source.tag}`);
            expect(run.outputs[`${image}ImageTag`]).to.equal(source.tag);
            const exported = `.build/${image}-${source.dirty ? `${source.commit}-dirty-${source.dirty}` : realGit(["rev-parse", `${source.sha}:${image}`])}`;
            expect(built.inputs.build).to.deep.include({ context: exported, dockerfile: `${exported}/Dockerfile`, platform: "linux/amd64" });
            expect(built.inputs.build.cacheFrom).to.deep.equal(source.cacheFromTag ? { images: [`${repo.state.repositoryUrl}:${source.cacheFromTag}`] } : undefined);
            expect(built.inputs.build.args.BUILDKIT_INLINE_CACHE).to.equal("1");
            expect(built.inputs).to.include({ skipPush: false, buildOnPreview: false });
            // The registry's host alone: the login comes from the deploy job's Docker config (ECR's
            // credential helper, tests/ecrCredentials.test.ts), so the state, which the preview roles
            // may decrypt, holds no credential.
            expect(built.inputs.registry).to.deep.equal({ server: repo.state.repositoryUrl.split("/")[0] });
            expect(JSON.stringify(built.inputs), built.name).to.not.match(/password|token|username/i);
            // Tasks run the pushed bytes by digest.
            expect(run.outputs[`${image}ImageRef`]).to.equal(built.state.repoDigest);
        }
        // Nor does the program ask for a login at all.
        expect(run.invokes.map((i) => i.token).filter((t) => /AuthorizationToken/.test(t))).to.deep.equal([]);
        const app = named(run, "docker:index/image:Image", "app-image").inputs.build.args;
        const source = imageSource("app", "amd64", realGit);
        expect(app).to.deep.equal({ GIT_COMMIT_SHA: source.commit, BUILD_TIME: source.commitTime, BUILDKIT_INLINE_CACHE: "1" });
        expect(named(run, "docker:index/image:Image", "gitlab-image").inputs.build.args).to.deep.equal({ BUILDKIT_INLINE_CACHE: "1" });
        // No command builds an image any more (dev's commands are GitLab's two migration steps).
        expect(ofType(run, "command:local:Command").map((c) => c.name).sort()).to.deep.equal(["gitlab-migrate", "gitlab-post-migrate"]);
    });

    it("the builds use the default docker provider with no host in the stack config: each job's DOCKER_HOST decides, a refresh's included (an engine-free ssh:// one in previews and drift)", async () => {
        for (const stack of STACKS) {
            const run = await stackRun(stack);
            // An explicit docker.Provider would record the deploying job's DOCKER_HOST (the SDK fills
            // `host` from the environment) in the state, and a drift refresh would ping that dind host.
            expect(ofType(run, "pulumi:providers:docker"), stack).to.deep.equal([]);
            for (const built of ofType(run, "docker:index/image:Image")) {
                expect(built.provider, `${stack} ${built.name}`).to.equal("");
            }
            const config = fs.readFileSync(path.join(__dirname, "..", `Pulumi.${stack}.yaml`), "utf8");
            expect(config, stack).to.not.match(/^\s+docker:/m);
        }
    });

    it("moving the build from the push command to docker.Image keeps every repository (same URN, no alias needed)", async () => {
        for (const stack of STACKS) {
            const run = await stackRun(stack);
            for (const repo of ofType(run, "aws:ecr/repository:Repository")) {
                expect(repo.urn).to.equal(`urn:pulumi:${stack}::platform::platform:ecr:EcrImage$aws:ecr/repository:Repository::${repo.name}`);
                expect(repo.aliases).to.deep.equal([]);
            }
        }
    });

    it("tags ECR already holds (the push command's, a retried up's, an older commit's) are used by digest: nothing is built or pushed again", async () => {
        const dev = await stackRun("dev");
        const tag = (image: string) => String(dev.outputs[`${image}ImageTag`]);
        const digest = `sha256:${"d".repeat(64)}`;
        const run = await runStack("dev", { registry: { [`platform-dev-app:${tag("app")}`]: digest, [`platform-dev-gitlab:${tag("gitlab")}`]: digest } });
        expect(run.error).to.equal(undefined);
        expect(ofType(run, "docker:index/image:Image")).to.deep.equal([]);
        for (const image of ["app", "gitlab"]) {
            expect(run.outputs[`${image}ImageRef`]).to.equal(`${named(run, "aws:ecr/repository:Repository", image).state.repositoryUrl}@${digest}`);
        }
        const web = JSON.parse(named(run, "aws:ecs/taskDefinition:TaskDefinition", "app").inputs.containerDefinitions).find((c: any) => c.name === "web");
        expect(web.image).to.equal(run.outputs.appImageRef);
    });

    it("takes the image reference only as a digest, and refuses anything else", () => {
        const ref = `123456789012.dkr.ecr.us-east-1.amazonaws.com/platform-dev-app@sha256:${"a".repeat(64)}`;
        expect(imageRefOf(ref)).to.equal(ref);
        expect(() => imageRefOf("123456789012.dkr.ecr.us-east-1.amazonaws.com/platform-dev-app:11111111-amd64")).to.throw(/reported no digest/);
        expect(() => imageRefOf("")).to.throw(/reported no digest/);
    });

    describe("image identity follows the image's own folder", () => {
        const log = (...lines: string[]) => lines.join("\n");
        const fakeGit = (answers: Record<string, string>): Git => (args) => {
            const key = args.join(" ");
            if (!(key in answers)) {
                throw new Error(`unexpected git ${key}`);
            }
            return answers[key];
        };
        const clean = {
            "log -2 --format=%H %cI -- app": log(`${"1".repeat(40)} 2026-05-06T07:08:09Z`, `${"2".repeat(40)} 2026-05-01T00:00:00Z`),
            "rev-parse --is-shallow-repository": "false",
            "status --porcelain --untracked-files=all -- app": "",
        };

        it("tags with the folder's last commit and the architecture; caches from the commit before", () => {
            const s = imageSource("app", "arm64", fakeGit(clean));
            expect(s).to.deep.equal({ commit: "11111111", sha: "1".repeat(40), commitTime: "2026-05-06T07:08:09Z", tag: "11111111-arm64", cacheFromTag: "22222222-arm64" });
            const first = imageSource("app", "amd64", fakeGit({ ...clean, "log -2 --format=%H %cI -- app": `${"1".repeat(40)} 2026-05-06T07:08:09Z` }));
            expect(first.cacheFromTag).to.equal(undefined);
        });

        it("marks uncommitted changes in the folder with a hash of them, so one tag never names two images", () => {
            const dirty = (diff: string, untracked: string, blobs: string) =>
                fakeGit({
                    ...clean,
                    "status --porcelain --untracked-files=all -- app": " M app/x.py",
                    "diff HEAD --binary -- app": diff,
                    "ls-files --others --exclude-standard -- app": untracked,
                    ...(untracked ? { [`hash-object -- ${untracked}`]: blobs } : {}),
                });
            const a = imageSource("app", "amd64", dirty("diff a", "", "")).tag;
            expect(a).to.match(/^11111111-dirty-[0-9a-f]{8}-amd64$/);
            expect(imageSource("app", "amd64", dirty("diff a", "", "")).tag).to.equal(a);
            expect(imageSource("app", "amd64", dirty("diff b", "", "")).tag).to.not.equal(a);
            expect(imageSource("app", "amd64", dirty("diff a", "app/new.txt", "blob1")).tag).to.not.equal(imageSource("app", "amd64", dirty("diff a", "app/new.txt", "blob2")).tag);
        });

        it("refuses a shallow clone whose history ends before the folder's last change", () => {
            const boundary = fakeGit({ ...clean, "rev-parse --is-shallow-repository": "true", [`rev-list --parents -n 1 ${"1".repeat(40)}`]: "1".repeat(40) });
            expect(() => imageSource("app", "amd64", boundary)).to.throw(/cannot tag the app image: the clone is shallow .*GIT_DEPTH: 0/);
            const deepEnough = fakeGit({ ...clean, "rev-parse --is-shallow-repository": "true", [`rev-list --parents -n 1 ${"1".repeat(40)}`]: `${"1".repeat(40)} ${"2".repeat(40)}` });
            expect(imageSource("app", "amd64", deepEnough).tag).to.equal("11111111-amd64");
        });

        it("fails clearly without git or without a commit touching the folder", () => {
            const noGit: Git = () => {
                throw new Error("not a git repository");
            };
            expect(() => imageSource("app", "amd64", noGit)).to.throw(/cannot tag the app image: `git log -- app` failed/);
            expect(() => imageSource("app", "amd64", fakeGit({ ...clean, "log -2 --format=%H %cI -- app": "" }))).to.throw(/no commit touches app\//);
        });

        it("fails the whole program, before any resource, when no tag can be found", async () => {
            const run = await runStack("dev", { env: { GIT_DIR: "/nonexistent" } });
            expect(run.error?.message).to.match(/cannot tag the app image/);
            expect(run.resources).to.deep.equal([]);
        });

        describe("in a real repository: a commit touching one image's folder changes only that image and its service", () => {
            let repo: string;
            const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z" } }).trim();
            const commit = (file: string, text: string) => {
                fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
                fs.writeFileSync(path.join(repo, file), text);
                git("add", "-A");
                git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", `change ${file}`);
            };
            // The program (loaded from this project) runs with the fixture as its working directory, where git runs.
            const runIn = async (): Promise<StackRun> => {
                const cwd = process.cwd();
                process.chdir(repo);
                try {
                    return await runStack("dev");
                } finally {
                    process.chdir(cwd);
                }
            };
            const inputsOf = (run: StackRun, type: string, name: string) => JSON.stringify(named(run, type, name).inputs);

            before(() => {
                repo = fs.mkdtempSync(path.join(os.tmpdir(), "platform-images-"));
                git("init", "-q");
                commit("app/Dockerfile", "FROM scratch\n");
                commit("gitlab/Dockerfile", "FROM scratch\n");
                commit("README.md", "outside both folders\n");
            });
            after(() => fs.rmSync(repo, { recursive: true, force: true }));

            it("app-only and gitlab-only commits each move one tag; a commit outside both moves none", async () => {
                const base = await runIn();
                expect(base.error).to.equal(undefined);
                commit("README.md", "still outside\n");
                const unrelated = await runIn();
                commit("app/main.py", "print('v2')\n");
                const appOnly = await runIn();
                commit("gitlab/gitlab.rb", "# v2\n");
                const gitlabOnly = await runIn();

                const img = "docker:index/image:Image";
                const td = "aws:ecs/taskDefinition:TaskDefinition";
                // Nothing moves for a commit outside both folders.
                for (const [type, name] of [[img, "app-image"], [img, "gitlab-image"], [td, "app"]]) {
                    expect(inputsOf(unrelated, type, name), name).to.equal(inputsOf(base, type, name));
                }
                // app/ changed: the app image, its task definition (image and /version commit) and nothing of GitLab.
                expect(inputsOf(appOnly, img, "app-image")).to.not.equal(inputsOf(base, img, "app-image"));
                expect(inputsOf(appOnly, td, "app")).to.not.equal(inputsOf(base, td, "app"));
                expect(inputsOf(appOnly, img, "gitlab-image")).to.equal(inputsOf(base, img, "gitlab-image"));
                expect(appOnly.outputs.gitlabImageRef).to.equal(base.outputs.gitlabImageRef);
                const sha = git("log", "-1", "--format=%h", "--abbrev=8", "--", "app");
                expect(appOnly.outputs.appImageTag).to.equal(`${sha}-amd64`);
                const web = JSON.parse(named(appOnly, td, "app").inputs.containerDefinitions).find((c: any) => c.name === "web");
                expect(web.environment.find((e: any) => e.name === "GIT_COMMIT_SHA").value).to.equal(sha);
                // gitlab/ changed: its image only; the app's task definition stays byte for byte.
                expect(inputsOf(gitlabOnly, img, "gitlab-image")).to.not.equal(inputsOf(appOnly, img, "gitlab-image"));
                expect(inputsOf(gitlabOnly, img, "app-image")).to.equal(inputsOf(appOnly, img, "app-image"));
                expect(inputsOf(gitlabOnly, td, "app")).to.equal(inputsOf(appOnly, td, "app"));
            });
        });
    });

    describe("what one commit costs a prod deploy (tools/commitFigures.ts)", () => {
        // Prod builds nothing of app/ and gitlab/ (images.promoteFrom: dev): it promotes dev's image.
        it("app/: no image built, dev's promoted (one tag), one service rolled, no GitLab migration", async () => {
            const m = await commitFigures("prod", "app");
            expect(m).to.deep.equal({ images: [], taskDefinitions: ["app"], services: ["app"], commands: ["app-promote"] });
        });

        it("gitlab/: no image built, dev's promoted; its three tiers roll and both migration steps run", async () => {
            const m = await commitFigures("prod", "gitlab");
            expect(m.images).to.deep.equal([]);
            expect(m.services).to.deep.equal(["gitlab-gitaly", "gitlab-sidekiq", "gitlab-web"]);
            expect(m.commands).to.deep.equal(["gitlab-migrate", "gitlab-post-migrate", "gitlab-promote"]);
        });
    });
});
