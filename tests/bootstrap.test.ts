import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { loadBootstrapConfig, parseBootstrapConfig } from "../bootstrap/config";
import { stateBackend } from "../bootstrap/stateBackend";
import { evaluate } from "../policy/waivers";
import { named, ofType, readStackConfig, ROOT, runComponent, StackRun, STACKS } from "../sim/harness";
import { ACCOUNT } from "../sim/mocks";
import { viewOf } from "../sim/policyView";
import { runThroughLanguageHost } from "./languageHost";

/**
 * The bootstrap (bootstrap/): the state bucket and each stack's secrets key,
 * checked against what the platform's own stack files expect of them.
 */

/** What the platform's stack files say, per stack: the values the bootstrap must produce. */
const expected = STACKS.map((stack) => {
    const c = readStackConfig(stack);
    const ci = c["platform:ci"] as { stateBucket: { name: string }; secretsKeyAlias: string };
    return { stack, region: c["aws:region"] as string, bucket: ci.stateBucket.name, alias: ci.secretsKeyAlias };
});

/** The bootstrap under the mocks with `config` (its keys under the harness's project namespace, `platform:`). */
function bootstrapRun(config: Record<string, unknown> = {}): Promise<StackRun> {
    const namespaced = Object.fromEntries(Object.entries(config).map(([k, v]) => [`platform:${k}`, v]));
    return runComponent(() => stateBackend(loadBootstrapConfig()), { stack: "prod", config: namespaced });
}

const BUCKET = `${ACCOUNT}-platform-pulumi-state`;
/** Children of the state bucket are named after it (aws/bucket.ts). */
const child = (run: StackRun, type: string, suffix: string) => named(run, type, `state-${suffix}`).inputs;

describe("bootstrap: the state bucket", () => {
    let run: StackRun;
    before(async () => {
        run = await bootstrapRun();
        expect(run.error).to.equal(undefined);
    });

    it("is named after the account by default, protected, never force-destroyed", () => {
        const bucket = named(run, "aws:s3/bucket:Bucket", "state");
        expect(bucket.inputs.bucket).to.equal(BUCKET);
        expect(bucket.protect).to.equal(true);
        expect(bucket.inputs.forceDestroy).to.equal(false);
        expect(run.outputs.stateBucketName).to.equal(BUCKET);
    });

    it("keeps versions, encrypts with SSE-S3, blocks every public access, enforces ownership", () => {
        expect(child(run, "aws:s3/bucketVersioning:BucketVersioning", "versioning").versioningConfiguration.status).to.equal("Enabled");
        const sse = child(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "sse");
        expect(sse.rules.map((r: any) => r.applyServerSideEncryptionByDefault.sseAlgorithm)).to.deep.equal(["AES256"]);
        const pab = child(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "public-access");
        expect([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets]).to.deep.equal([true, true, true, true]);
        expect(child(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "ownership").rule.objectOwnership).to.equal("BucketOwnerEnforced");
    });

    it("refuses every request that is not over TLS", () => {
        const arn = `arn:aws:s3:::${BUCKET}`;
        const statements = JSON.parse(child(run, "aws:s3/bucketPolicy:BucketPolicy", "policy").policy).Statement as any[];
        const deny = statements.filter((s) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false");
        expect(deny).to.have.length(1);
        expect(deny[0]).to.deep.include({ Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`] });
    });

    it("passes the policy pack but for S3.9 (no server access logs: they would need a bucket of their own)", () => {
        const found = evaluate(viewOf(run)).violations.map((v) => `${v.control} ${v.name}`);
        expect(found).to.deep.equal(["S3.9 state"]);
    });

    it("with bucketPrefix, takes the name the stack files use", async () => {
        const names = new Set(expected.map((e) => e.bucket));
        expect(names.size, "both stacks share one bucket").to.equal(1);
        const [name] = names;
        const prefix = name.replace(/-platform-pulumi-state$/, "");
        expect(prefix, "the stack files' bucket follows <prefix>-<project>-pulumi-state").to.not.equal(name);
        expect((await bootstrapRun({ bucketPrefix: prefix })).outputs.stateBucketName).to.equal(name);
    });
});

describe("bootstrap: the secrets keys", () => {
    let run: StackRun;
    before(async () => {
        run = await bootstrapRun();
    });

    it("one per stack file, rotated and protected, aliased as that stack file's ci.secretsKeyAlias", () => {
        const keys = ofType(run, "aws:kms/key:Key");
        const aliases = ofType(run, "aws:kms/alias:Alias");
        expect(keys.map((k) => k.name).sort()).to.deep.equal(STACKS.map((s) => `secrets-${s}`).sort());
        for (const { stack, alias } of expected) {
            const key = named(run, "aws:kms/key:Key", `secrets-${stack}`);
            expect(key.inputs.enableKeyRotation, stack).to.equal(true);
            expect(key.protect, stack).to.equal(true);
            const a = aliases.find((x) => x.name === `secrets-${stack}`)!;
            expect(a.inputs.name, stack).to.equal(alias);
            expect(a.inputs.targetKeyId, stack).to.equal(key.state.keyId);
            expect(a.protect, stack).to.equal(true);
        }
    });

    it("a stack list of its own gets a key for each, and one for no other", async () => {
        const other = await bootstrapRun({ stacks: JSON.stringify(["staging"]) });
        expect(ofType(other, "aws:kms/alias:Alias").map((a) => a.inputs.name)).to.deep.equal(["alias/platform-staging-pulumi"]);
    });
});

describe("bootstrap: the commands it prints", () => {
    let run: StackRun;
    before(async () => {
        run = await bootstrapRun();
    });

    it("log in to the bucket in the stack files' region, the URL single-quoted (zsh globs an unquoted ?)", () => {
        const [{ region }] = expected;
        expect(expected.every((e) => e.region === region)).to.equal(true);
        expect(run.outputs.loginCommand).to.equal(`pulumi login 's3://${BUCKET}?region=${region}'`);
        expect(run.outputs.backendUrl).to.equal(`s3://${BUCKET}?region=${region}`);
    });

    it("initialise each stack with its own key as secrets provider, quoted", () => {
        const commands = run.outputs.stackInitCommands as Record<string, string>;
        expect(Object.keys(commands).sort()).to.deep.equal([...STACKS].sort());
        for (const { stack, alias, region } of expected) {
            expect(commands[stack]).to.equal(`pulumi stack init ${stack} --secrets-provider 'awskms://${alias}?region=${region}'`);
        }
        // Every ? of every command sits inside single quotes.
        for (const c of [run.outputs.loginCommand as string, ...Object.values(commands)]) {
            expect(c.replace(/'[^']*'/g, ""), c).to.not.include("?");
        }
    });
});

describe("bootstrap: its config", () => {
    it("defaults to the root project's name and the stack files' region", () => {
        const root = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { name: string };
        const cfg = parseBootstrapConfig({}, "any", "platform-bootstrap");
        expect(cfg.project).to.equal(root.name);
        expect(expected.map((e) => e.region)).to.deep.equal(expected.map(() => cfg.region));
        expect([...cfg.stacks].sort()).to.deep.equal([...STACKS].sort());
    });

    for (const [what, config, message] of [
        ["a stack twice", { stacks: JSON.stringify(["dev", "dev"]) }, "bootstrap/Pulumi.prod.yaml: platform:stacks: lists a stack twice"],
        ["a misspelt key", { stack: "dev" }, "bootstrap/Pulumi.prod.yaml: platform:stack: not a key of the bootstrap"],
        ["a bad region", { region: "Frankfurt" }, 'bootstrap/Pulumi.prod.yaml: platform:region: "Frankfurt" is not an AWS region (e.g. us-east-1)'],
    ] as const) {
        it(`refuses ${what} in one line, before any resource`, async () => {
            const bad = await bootstrapRun(config);
            expect(bad.error?.message).to.equal(message);
            expect(bad.resources).to.deep.equal([]);
        });
    }

    it("runs from bootstrap/ through Pulumi's language host, with the repository's node_modules and tsconfig.json", async () => {
        const dir = path.join(ROOT, "bootstrap");
        const project = YAML.parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as { name: string; main: string; runtime: { options: { tsconfig: string } } };
        expect(fs.existsSync(path.join(dir, "node_modules")), "no node_modules of its own").to.equal(false);
        const host = await runThroughLanguageHost("account", { [`${project.name}:stacks`]: JSON.stringify(["dev", "dev"]) }, 120_000, {
            dir,
            project: project.name,
            main: project.main,
            // As the CLI sets them from the runtime options; type-checked, as `pulumi up` does.
            env: { PULUMI_NODEJS_TSCONFIG_PATH: project.runtime.options.tsconfig, PULUMI_NODEJS_TRANSPILE_ONLY: "" },
        });
        expect(host.output).to.include(`error: [runtime] bootstrap/Pulumi.account.yaml: ${project.name}:stacks: lists a stack twice`);
        expect(host.output, "the line alone, no stack trace").to.not.include("config.ts");
        expect(host.exitCode).to.not.equal(0);
    });
});

