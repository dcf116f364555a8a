import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ecrRegistryHost, withEcrHelper } from "../ci/ecrCredentials";
import { ACCOUNT } from "../sim/mocks";
import { ofType, ROOT, stackRun, STACKS } from "../sim/harness";

/**
 * The deploy job's ECR login (ci/ecrCredentials.ts): the job's Docker config
 * sends the stack's registry host to ECR's credential helper, and the program
 * gives docker.Image that host with no login (tests/ecr.test.ts).
 */
describe("ECR credentials of the deploy job (ci/ecrCredentials.ts)", function () {
    this.timeout(120_000);

    /** The program run as `.deploy` runs it, in a fresh HOME; its exit status, stderr and Docker config. */
    const run = (stack: string, env: Record<string, string>, home = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-cred-"))) => {
        const r = spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "ci/ecrCredentials.ts", stack], {
            cwd: ROOT,
            encoding: "utf8",
            env: { PATH: process.env.PATH, HOME: home, ...env },
        });
        const file = path.join(home, ".docker", "config.json");
        return { status: r.status, stderr: r.stderr, file, config: fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : undefined };
    };

    it("sends exactly the host every docker.Image of the stack pushes to to docker-credential-ecr-login, and writes no secret", async () => {
        for (const stack of STACKS) {
            const r = run(stack, { AWS_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/platform-${stack}-ci-deploy` });
            expect(r.status, r.stderr).to.equal(0);
            const servers = [...new Set(ofType(await stackRun(stack), "docker:index/image:Image").map((i) => i.inputs.registry.server))];
            expect(servers, stack).to.have.length(1);
            // Docker finds a helper by the registry's exact host (docker/cli configfile GetCredentialsStore).
            expect(r.config, stack).to.deep.equal({ credHelpers: { [servers[0]]: "ecr-login" } });
            expect(fs.statSync(r.file).mode & 0o077, "private to the job's user").to.equal(0);
        }
    });

    it("keeps what the Docker config already holds, and refuses a role ARN or region it cannot make a registry host of", () => {
        const home = fs.mkdtempSync(path.join(os.tmpdir(), "ecr-cred-"));
        fs.mkdirSync(path.join(home, ".docker"));
        fs.writeFileSync(path.join(home, ".docker", "config.json"), JSON.stringify({ auths: { "registry.example.com": {} }, credHelpers: { "public.ecr.aws": "ecr-login" } }));
        const r = run("dev", { AWS_ROLE_ARN: "arn:aws:iam::210987654321:role/platform-dev-ci-deploy" }, home);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.config).to.deep.equal({
            auths: { "registry.example.com": {} },
            credHelpers: { "public.ecr.aws": "ecr-login", "210987654321.dkr.ecr.us-east-1.amazonaws.com": "ecr-login" },
        });
        const refused = run("dev", { AWS_ROLE_ARN: "platform-dev-ci-deploy" });
        expect(refused.status).to.equal(1);
        expect(refused.stderr).to.match(/^ecr credentials: AWS_ROLE_ARN "platform-dev-ci-deploy" is not an IAM role ARN/);
        expect(refused.config).to.equal(undefined);
        expect(() => ecrRegistryHost(`arn:aws:iam::${ACCOUNT}:role/x`, "mars-1")).to.throw(/aws:region "mars-1" is not an AWS region/);
        expect(() => withEcrHelper({ credHelpers: ["x"] }, "h")).to.throw(/credHelpers is not an object/);
    });

    it("the tools image installs ECR's credential helper at a pinned Debian version", () => {
        const dockerfile = fs.readFileSync(path.join(ROOT, "ci/Dockerfile"), "utf8");
        expect(dockerfile).to.match(/apt-get install [^\n]*\samazon-ecr-credential-helper=\d[\w.+~-]*\s/);
    });
});
