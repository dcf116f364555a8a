import { expect } from "chai";
import { parseConfig } from "../config";
import { lifecyclePolicy } from "../components/ecrImage";
import { EcrApi, promote } from "../hooks/promoteImage";
import { evaluate } from "./iamEval";
import { roleStatements } from "./deployIdentityHelpers";
import { engineConfig, named, ofType, readStackConfig, runStack, stackRun } from "../sim/harness";
import { ACCOUNT } from "../sim/mocks";

/**
 * Prod runs dev's images by digest (images.promoteFrom: dev;
 * docs/decisions/images.md): nothing built in prod, the digest dev's repository holds for the
 * folder's tag, dev's repository pulled from, and the image tagged in dev's
 * repository so dev's lifecycle keeps it.
 */
const T = { image: "docker:index/image:Image", command: "command:local:Command", repo: "aws:ecr/repository:Repository", td: "aws:ecs/taskDefinition:TaskDefinition" };
const images = ["app", "gitlab"];

describe("image promotion: prod runs dev's images by digest", function () {
    this.timeout(120_000);

    it("prod builds no app or GitLab image: its task definitions run exactly the digests dev pushed, from dev's repositories", async () => {
        const [dev, prod] = [await stackRun("dev"), await stackRun("prod")];
        expect(prod.error).to.equal(undefined);
        // Only the runner's image is built in prod (dev runs no runner).
        expect(ofType(prod, T.image).map((i) => i.name)).to.deep.equal(["runner-image"]);
        for (const image of images) {
            const ref = String(prod.outputs[`${image}ImageRef`]);
            expect(ref, image).to.equal(dev.outputs[`${image}ImageRef`]);
            expect(ref, image).to.match(new RegExp(`^${ACCOUNT}\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/platform-dev-${image}@sha256:[0-9a-f]{64}$`));
            // The same folder tag in both stacks.
            expect(prod.outputs[`${image}ImageTag`], image).to.equal(dev.outputs[`${image}ImageTag`]);
        }
        const web = JSON.parse(named(prod, T.td, "app").inputs.containerDefinitions).find((c: any) => c.name === "web");
        expect(web.image).to.equal(dev.outputs.appImageRef);
    });

    it("each promotion tags that digest promoted-by-prod-<tag> in dev's repository (hooks/promoteImage.ts), and dev's lifecycle keeps those first", async () => {
        const [dev, prod] = [await stackRun("dev"), await stackRun("prod")];
        for (const image of images) {
            const promotion = named(prod, T.command, `${image}-promote`);
            const tag = String(dev.outputs[`${image}ImageTag`]);
            expect(promotion.inputs.create).to.equal("node_modules/.bin/ts-node --transpile-only tools/promoteImage.ts");
            expect(promotion.inputs.environment).to.deep.equal({
                AWS_REGION: "us-east-1",
                REPOSITORY: `platform-dev-${image}`,
                DIGEST: String(dev.outputs[`${image}ImageRef`]).split("@")[1],
                TAG: `promoted-by-prod-${tag}`,
            });
        }
        // An image a higher-priority rule selects is never expired by a lower one (ECR lifecycle evaluation).
        const rules = JSON.parse(named(dev, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "app-lifecycle").inputs.policy).rules;
        expect(rules[0]).to.deep.include({ rulePriority: 1, selection: { tagStatus: "tagged", tagPatternList: ["promoted-by-*"], countType: "imageCountMoreThan", countNumber: 20 } });
        expect(rules.map((r: any) => r.rulePriority)).to.deep.equal([1, 2, 3]);
        expect(JSON.parse(lifecyclePolicy(5)).rules.map((r: any) => r.selection.tagPatternList ?? r.selection.tagStatus)).to.deep.equal([["promoted-by-*"], "untagged", ["*"]]);
    });

    it("prod's up fails with one line naming dev when dev has not pushed the tag yet; its preview (before deploy dev, or a merge request's commit) shows the images unknown", async () => {
        const run = await runStack("prod", { registry: {} });
        expect(run.error?.message).to.match(/platform-dev-(app|gitlab):[0-9a-f]{8}(-dirty-[0-9a-f]{8})?-amd64 is not in ECR: deploy dev first/);
        expect(run.error?.message).to.not.include("\n");
        const preview = await runStack("prod", { registry: {}, preview: true });
        expect(preview.error).to.equal(undefined);
        const web = JSON.stringify(named(preview, "aws:ecs/taskDefinition:TaskDefinition", "app").inputs.containerDefinitions ?? null);
        expect(web).to.not.include("platform-dev-app@sha256:");
        expect(web).to.not.include("platform-prod-app@sha256:");
        // (With dev's tag in ECR the same field names dev's image by digest.)
        expect(JSON.stringify(named(await stackRun("prod"), "aws:ecs/taskDefinition:TaskDefinition", "app").inputs.containerDefinitions)).to.include("platform-dev-app@sha256:");
    });

    it("IAM: prod's execution roles pull from dev's repository and prod's own (older revisions); prod's CI roles read (preview) and tag (deploy) dev's repositories, nothing else of dev's; dev's roles get nothing of the kind", async () => {
        const [dev, prod] = [await stackRun("dev"), await stackRun("prod")];
        // Dev's repository, and prod's own: task revisions from before the promotion (a rollback to one) name it.
        const pulls = ofType(prod, "aws:iam/rolePolicy:RolePolicy")
            .map((p) => JSON.parse(p.inputs.policy).Statement.find((s: any) => s.Sid === "PullImages"))
            .filter((s) => s !== undefined);
        expect(pulls.length).to.be.greaterThan(3);
        for (const image of ["app", "gitlab"]) {
            const devArn = named(dev, T.repo, image).state.arn;
            const own = named(prod, T.repo, image).state.arn;
            const naming = pulls.filter((s) => JSON.stringify(s.Resource).includes(`repository/platform-dev-${image}`));
            expect(naming.length, image).to.be.greaterThan(0);
            for (const s of naming) {
                expect(s.Resource, image).to.have.members([devArn, own]);
            }
        }
        const deploy = roleStatements(prod, "deploy");
        const preview = roleStatements(prod, "preview");
        const devRepo = named(dev, T.repo, "app").state.arn;
        const on = (resource: string, action: string) => ({ action, resource, context: {} });
        expect(evaluate(deploy, on(devRepo, "ecr:PutImage"))).to.equal("allow");
        expect(evaluate(deploy, on(devRepo, "ecr:BatchGetImage"))).to.equal("allow");
        expect(evaluate(preview, on(devRepo, "ecr:DescribeImages"))).to.equal("allow");
        // terraform-provider-aws's aws_ecr_image reads the repository too (DescribeRepositories, for image_uri).
        expect(evaluate(preview, on(devRepo, "ecr:DescribeRepositories"))).to.equal("allow");
        expect(evaluate(deploy, on(devRepo, "ecr:DescribeRepositories"))).to.equal("allow");
        expect(evaluate(preview, on(devRepo, "ecr:PutImage"))).to.equal("implicit");
        // Nothing else of dev's: its lifecycle, its repositories' settings.
        expect(evaluate(deploy, on(devRepo, "ecr:PutLifecyclePolicy"))).to.equal("implicit");
        expect(evaluate(deploy, on(devRepo, "ecr:DeleteRepository"))).to.equal("implicit");
        expect(evaluate(deploy, on(devRepo.replace("platform-dev-", "platform-staging-"), "ecr:PutImage"))).to.equal("implicit");
        // Dev promotes from nobody: no statement names another stack's repositories.
        expect(JSON.stringify(roleStatements(dev, "deploy"))).to.not.include("repository/platform-prod-");
        expect(roleStatements(dev, "deploy").map((s) => s.Sid)).to.not.include("PromotedImages");
    });

    it("config: promoteFrom names another stack, never the stack itself", () => {
        const raw = (promoteFrom: string) => {
            const c = readStackConfig("prod");
            c["platform:images"] = { ...c["platform:images"], promoteFrom };
            return Object.fromEntries(Object.entries(engineConfig(c)).map(([k, v]) => [k, k.startsWith("platform:") ? JSON.parse(v) : v]));
        };
        expect(parseConfig(raw("dev"), "prod").images.promoteFrom).to.equal("dev");
        expect(() => parseConfig(raw("prod"), "prod")).to.throw(/^Pulumi\.prod\.yaml: images\.promoteFrom: "prod" is this stack/);
        expect(() => parseConfig(raw("Dev-1"), "prod")).to.throw(/images\.promoteFrom: a stack name/);
    });

    describe("the promotion hook (hooks/promoteImage.ts)", () => {
        const fake = (manifest: { manifest: string; mediaType?: string } | undefined, answer: string | undefined, tagged?: string) => {
            const calls: unknown[][] = [];
            const api: EcrApi = {
                manifest: async (...a) => (calls.push(["manifest", ...a]), manifest),
                putImage: async (...a) => (calls.push(["putImage", ...a]), answer),
                digestOf: async (...a) => (calls.push(["digestOf", ...a]), tagged),
            };
            return { api, calls };
        };
        const input = { repository: "platform-dev-app", digest: `sha256:${"a".repeat(64)}`, tag: "promoted-by-prod-11111111-amd64" };
        const m = { manifest: '{"schemaVersion":2}', mediaType: "application/vnd.oci.image.manifest.v1+json" };

        it("puts the same manifest under the new tag, on that digest; the same tag already there is success", async () => {
            const { api, calls } = fake(m, undefined);
            expect(await promote(input, api)).to.equal(input.tag);
            expect(calls).to.deep.equal([
                ["manifest", "platform-dev-app", input.digest],
                ["putImage", "platform-dev-app", input.tag, m, input.digest],
            ]);
            // A re-run: ECR refuses the existing tag with either name; on this digest that is success.
            for (const refusal of ["ImageAlreadyExistsException", "ImageTagAlreadyExistsException"]) {
                const again = fake(m, refusal, input.digest);
                expect(await promote(input, again.api), refusal).to.equal(input.tag);
                expect(again.calls.at(-1)).to.deep.equal(["digestOf", "platform-dev-app", input.tag]);
            }
        });

        it("fails when the digest is gone or the tag names other bytes", async () => {
            const failure = (p: Promise<unknown>) => p.then(() => "resolved", (e: Error) => e.message);
            expect(await failure(promote(input, fake(undefined, undefined).api))).to.match(/platform-dev-app@sha256:a+ is not in ECR/);
            expect(await failure(promote(input, fake(m, "ImageTagAlreadyExistsException", `sha256:${"b".repeat(64)}`).api))).to.match(
                /ECR refused platform-dev-app:promoted-by-prod-11111111-amd64 .*ImageTagAlreadyExistsException \(the tag names sha256:b+\)/,
            );
            expect(await failure(promote(input, fake(m, "ImageTagAlreadyExistsException", undefined).api))).to.match(/the tag names no image/);
        });
    });
});
