import { expect } from "chai";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../sim/harness";
import { refreshBlock } from "../tools/docBlocks";

/** The operator commands behave as shell tools do: help, usage errors, clean output, each warning once. */

interface Ran {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

// An npm around mocha (`npm test`) hands its settings down as npm_config_*: the npm runs here must not inherit them.
// The plans it starts export their build contexts into a directory of their own, not the one this process's runs use.
const ENV = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_config_"))), PLATFORM_BUILD_ROOT: fs.mkdtempSync(path.join(os.tmpdir(), "tools-build-")) };

function run(command: string, args: string[]): Promise<Ran> {
    return new Promise((resolve) => {
        execFile(command, args, { cwd: ROOT, encoding: "utf8", env: ENV, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
            resolve({ status: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr });
        });
    });
}

const tsNode = (file: string, ...args: string[]) => run(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", file, ...args]);

/** Every program in tools/ (a `require.main` block, or an entry point that exports nothing), and the shard tool. */
function executables(): string[] {
    const tools = fs
        .readdirSync(path.join(ROOT, "tools"))
        .filter((f) => f.endsWith(".ts"))
        .map((f) => `tools/${f}`)
        .filter((f) => {
            const text = fs.readFileSync(path.join(ROOT, f), "utf8");
            return text.includes("require.main === module") || !/^export /m.test(text);
        });
    return [...tools, "ci/mochaShard.ts"];
}

describe("operator commands (tools/cli.ts)", function () {
    this.timeout(240_000);
    const files = executables();
    const answers: Record<string, { help: Ran; unknown: Ran }> = {};
    before(async () => {
        // As many at once as there are processors: each is a compile and a load of its imports.
        const queue = [...files];
        const worker = async () => {
            for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
                answers[f] = { help: await tsNode(f, "--help"), unknown: await tsNode(f, "--no-such-option") };
            }
        };
        await Promise.all(Array.from({ length: os.availableParallelism() }, worker));
    });

    it("finds the programs (the stable entry points and the plan among them)", () => {
        expect(files).to.include.members(["tools/plan.ts", "tools/promoteImage.ts", "tools/runTask.ts", "tools/runnerToken.ts", "tools/pipelineModel.ts"]);
        expect(files).not.to.include("tools/cli.ts");
    });

    for (const f of executables()) {
        it(`${f}: --help prints its usage on stdout and exits 0; an unknown option exits 2 with the usage on stderr`, () => {
            const { help, unknown } = answers[f];
            expect(help.status, help.stderr).to.equal(0);
            expect(help.stdout).to.match(/^usage: /);
            expect(help.stdout.split("\n")[0]).to.include(path.basename(f, ".ts"));
            expect(help.stderr).to.equal("");
            expect(unknown.status, unknown.stderr).to.equal(2);
            expect(unknown.stdout).to.equal("");
            expect(unknown.stderr).to.match(/^\w+: unknown option '--no-such-option'\nusage: /);
            expect(unknown.stderr).to.include(help.stdout.trim());
        });
    }

    it("a missing argument or option value is bad usage too (exit 2), before the tool does anything", async () => {
        const [noValue, badStack, noReport] = await Promise.all([
            tsNode("tools/plan.ts", "dev", "--out"),
            tsNode("tools/plan.ts", "staging"),
            tsNode("tools/mochaTimings.ts"),
        ]);
        expect(noValue.status).to.equal(2);
        expect(noValue.stderr).to.match(/^plan: option '--out <value>' argument missing/);
        expect(badStack.status).to.equal(2);
        expect(badStack.stderr).to.match(/^plan: unknown stack "staging"/);
        expect(noReport.status).to.equal(2);
        expect(noReport.stderr).to.match(/^mochaTimings: missing argument/);
    });
});

describe("npm run plan: output and warnings", function () {
    this.timeout(240_000);
    // The committed files a plan must never write to: the README and the pictures in docs/.
    const committed = ["README.md", "docs/architecture.md", "docs/architecture-dev.svg", "docs/architecture-dev.mmd"].map((f) => path.join(ROOT, f));
    const pictures = fs.mkdtempSync(path.join(os.tmpdir(), "plan-pictures-"));
    const ran: Record<string, Ran> = {};
    let committedBefore: number[];
    before(async () => {
        committedBefore = committed.map((f) => fs.statSync(f).mtimeMs);
        const runs: Record<string, string[]> = {
            dev: ["run", "plan", "--", "dev"],
            prod: ["run", "plan", "--", "prod"],
            silentJson: ["run", "--silent", "plan", "--", "dev", "--json"],
            pictures: ["run", "plan", "--", "dev", "--pictures", pictures],
        };
        // One after the other: each run exports the images' build contexts into the same .build/.
        for (const [k, args] of Object.entries(runs)) {
            ran[k] = await run("npm", args);
        }
    });
    after(() => [pictures, ENV.PLATFORM_BUILD_ROOT].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

    const DEV_WARNING = "Pulumi.dev.yaml: alarms.email is unset";
    const count = (text: string, s: string) => text.split(s).length - 1;

    it("the dev plan prints its warning once; the prod plan none of dev's", () => {
        for (const k of ["dev", "prod"]) {
            expect(ran[k].status, ran[k].stderr).to.equal(0);
        }
        expect(count(ran.dev.stdout + ran.dev.stderr, DEV_WARNING)).to.equal(1);
        expect(ran.dev.stdout).to.include(`warning: ${DEV_WARNING}`);
        expect(ran.prod.stdout + ran.prod.stderr).not.to.include("Pulumi.dev.yaml");
        expect(ran.prod.stdout).to.include('Offline plan for stack "prod"');
    });

    it("--json: npm run --silent prints the JSON alone on stdout, the warning on stderr once", () => {
        const { status, stdout, stderr } = ran.silentJson;
        expect(status, stderr).to.equal(0);
        expect(JSON.parse(stdout).stack).to.equal("dev");
        expect(count(stderr, DEV_WARNING)).to.equal(1);
    });

    it("the plan lists the stack file's example values; --check-placeholders names each and fails on them", async () => {
        expect(ran.prod.stdout).to.match(/Example values in Pulumi\.prod\.yaml to replace before a real deployment/);
        expect(ran.prod.stdout).to.include("  platform:dns.zoneName: example.com");
        const check = await tsNode("tools/plan.ts", "prod", "--check-placeholders");
        expect(check.status).to.equal(1);
        expect(check.stderr).to.include('Pulumi.prod.yaml: platform:alarms.email: "platform-oncall@example.com" is an example value: replace it');
    });

    it("--pictures DIR writes the picture into DIR and leaves the README and docs/ alone", () => {
        expect(ran.pictures.status, ran.pictures.stderr).to.equal(0);
        expect(fs.readdirSync(pictures)).to.include.members(["architecture-dev.dot", "architecture-dev.mmd"]);
        expect(committed.map((f) => fs.statSync(f).mtimeMs)).to.deep.equal(committedBefore);
    });

    it("npm run docs replaces a generated block between its markers and nothing else; a missing block is an error naming the file", () => {
        const file = path.join(pictures, "README.md");
        const block = (stack: string, body: string) => `<!-- mermaid-${stack}: generated by npm run docs -->\n\`\`\`mermaid\n${body}\n\`\`\`\n<!-- /mermaid-${stack} -->`;
        fs.writeFileSync(file, `intro\n${block("dev", "stale dev")}\n\n${block("prod", "stale prod")}\nend\n`);
        expect(refreshBlock(file, "mermaid-dev", "```mermaid\nflowchart LR\n  a --> b\n```")).to.equal(true);
        expect(fs.readFileSync(file, "utf8")).to.equal(`intro\n${block("dev", "flowchart LR\n  a --> b")}\n\n${block("prod", "stale prod")}\nend\n`);
        expect(refreshBlock(file, "mermaid-dev", "```mermaid\nflowchart LR\n  a --> b\n```"), "a second run finds it fresh").to.equal(false);
        expect(() => refreshBlock(file, "config-reference", "x")).to.throw(`${file} has no <!-- config-reference: generated by ... --> ... <!-- /config-reference --> block`);
    });
});
