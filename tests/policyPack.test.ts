import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { CONTROLS } from "../policy/controls";
import { ROOT, runStack, stackRun, StackRun } from "../sim/harness";
import { renamedRun } from "../sim/policyView";

/**
 * The pack as the Pulumi CLI runs it: @pulumi/pulumi's run-policy-pack loads
 * policy/ (TypeScript, its PulumiPolicy.yaml and package.json), which serves
 * the Analyzer gRPC service and prints its port; the test is the engine.
 */
const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const fromSdk = (id: string) => require(require.resolve(id, { paths: [PULUMI_DIR] }));
const grpc = fromSdk("@grpc/grpc-js");
const structpb = fromSdk("google-protobuf/google/protobuf/struct_pb.js");
const emptypb = fromSdk("google-protobuf/google/protobuf/empty_pb.js");
const services = require(path.join(PULUMI_DIR, "proto/analyzer_grpc_pb.js"));
const messages = require(path.join(PULUMI_DIR, "proto/analyzer_pb.js"));

function startPack(): Promise<{ client: any; proc: ChildProcess }> {
    const proc = spawn(process.execPath, [path.join(PULUMI_DIR, "cmd/run-policy-pack"), "127.0.0.1:0", "."], { cwd: path.join(ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    proc.stderr!.on("data", (d) => (err += d));
    return new Promise((resolve, reject) => {
        proc.stdout!.once("data", (d) => {
            const port = Number(String(d).trim().split(/\s+/)[0]);
            resolve({ proc, client: new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) });
        });
        proc.once("exit", (code) => reject(new Error(`policy pack exited ${code}: ${err}`)));
    });
}

const call = (client: any, method: string, req: any): Promise<any> => new Promise((ok, fail) => client[method](req, (e: Error | null, r: any) => (e ? fail(e) : ok(r))));

/** How the engine sends a value not known until apply (a preview of a rebuilt image, say). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
type Edit = (type: string, name: string, props: Record<string, any>) => Record<string, any>;
const asIs: Edit = (_t, _n, p) => p;

function optionsOf(r: StackRun["resources"][number]): any {
    // The CLI always sends the resource's options (the pack refuses a request without).
    const opts = new messages.AnalyzerResourceOptions();
    opts.setProtect(r.protect);
    return opts;
}

const struct = (props: Record<string, any>) => structpb.Struct.fromJavaScript(JSON.parse(JSON.stringify(props)));

/** The whole stack, as the engine sends it to stack policies. */
function stackRequest(run: StackRun, edit: Edit): any {
    const req = new messages.AnalyzeStackRequest();
    req.setResourcesList(
        run.resources.filter((r) => r.urn).map((r) => {
            const res = new messages.AnalyzerResource();
            res.setType(r.type);
            res.setName(r.name);
            res.setUrn(r.urn);
            res.setOptions(optionsOf(r));
            res.setDependenciesList([...r.dependencies]);
            res.setProperties(struct(edit(r.type, r.name, r.inputs)));
            for (const [k, urns] of Object.entries(r.propertyDependencies)) {
                const deps = new messages.AnalyzerPropertyDependencies();
                deps.setUrnsList([...urns]);
                res.getPropertydependenciesMap().set(k, deps);
            }
            return res;
        }),
    );
    return req;
}

interface Diagnostic {
    policy: string;
    resource: string;
    enforcement: number;
    message: string;
}

/** Every resource through the resource policies (as the engine does before each step), then the stack policies. */
async function analyzeAll(client: any, run: StackRun, edit: Edit = asIs): Promise<Diagnostic[]> {
    const out: Diagnostic[] = [];
    const collect = (resp: any, fallbackUrn = "") =>
        resp.getDiagnosticsList().forEach((d: any) => out.push({ policy: d.getPolicyname(), resource: (d.getUrn() || fallbackUrn).split("::").pop(), enforcement: d.getEnforcementlevel(), message: d.getMessage() }));
    for (const r of run.resources.filter((x) => x.urn)) {
        const req = new messages.AnalyzeRequest();
        req.setType(r.type);
        req.setName(r.name);
        req.setUrn(r.urn);
        req.setOptions(optionsOf(r));
        req.setProperties(struct(edit(r.type, r.name, r.inputs)));
        collect(await call(client, "analyze", req), r.urn);
    }
    collect(await call(client, "analyzeStack", stackRequest(run, edit)));
    return out;
}

const MANDATORY = 1;
const ADVISORY = 0;

describe("policy pack: served as the Pulumi CLI runs it (gRPC Analyzer)", function () {
    this.timeout(300_000);
    let pack: { client: any; proc: ChildProcess };
    let prod: StackRun;
    before(async () => {
        pack = await startPack();
        prod = await stackRun("prod");
    });
    after(() => pack?.proc.kill());

    it("names every control as a mandatory policy", async () => {
        const info = await call(pack.client, "getAnalyzerInfo", new emptypb.Empty());
        expect(info.getName()).to.equal("platform-security-hub");
        const policies = info.getPoliciesList().map((p: any) => p.getName());
        expect(policies).to.have.members(CONTROLS.map((c) => c.policy));
        expect(new Set(info.getPoliciesList().map((p: any) => p.getEnforcementlevel()))).to.deep.equal(new Set([MANDATORY]));
    });

    it("prod's graph: no diagnostics; a public IP and a writable app root: one each, mandatory, on those resources", async () => {
        expect(await analyzeAll(pack.client, prod)).to.deep.equal([]);
        const found = await analyzeAll(pack.client, prod, (type, name, props) => {
            if (type === "aws:ecs/service:Service" && name === "app") {
                return { ...props, networkConfiguration: { ...props.networkConfiguration, assignPublicIp: true } };
            }
            if (type === "aws:ecs/taskDefinition:TaskDefinition" && name === "app") {
                return { ...props, containerDefinitions: props.containerDefinitions.replace('"readonlyRootFilesystem":true', '"readonlyRootFilesystem":false') };
            }
            return props;
        });
        expect(found.map((d) => [d.policy, d.resource, d.enforcement])).to.have.deep.members([
            ["ecs-2-no-public-ip", "app", MANDATORY],
            ["ecs-5-read-only-root", "app", MANDATORY],
        ]);
    });

    it("a preview with values not known yet: only those resources go unchecked; a violation elsewhere is still caught", async () => {
        const found = await analyzeAll(pack.client, prod, (type, name, props) => {
            // A rebuilt image: gitlab-web's container definitions are not known until the push.
            if (type === "aws:ecs/taskDefinition:TaskDefinition" && name === "gitlab-web") {
                return { ...props, containerDefinitions: UNKNOWN };
            }
            // A new bucket's policy names its ARN, not known yet.
            if (type === "aws:s3/bucketPolicy:BucketPolicy" && name === "app-media") {
                return { ...props, policy: UNKNOWN };
            }
            if (type === "aws:ecs/taskDefinition:TaskDefinition" && name === "app") {
                return { ...props, containerDefinitions: props.containerDefinitions.replace('"readonlyRootFilesystem":true', '"readonlyRootFilesystem":false') };
            }
            return props;
        });
        const mandatory = found.filter((d) => d.enforcement === MANDATORY).map((d) => [d.policy, d.resource]);
        expect(mandatory).to.deep.equal([["ecs-5-read-only-root", "app"]]);
        // The unknowns: advisory "not checked" notes on gitlab-web's task definition only.
        const skipped = found.filter((d) => d.enforcement === ADVISORY);
        expect(new Set(skipped.map((d) => d.resource))).to.deep.equal(new Set(["gitlab-web"]));
        expect(skipped.every((d) => /can't be known during preview/.test(d.message)), skipped.map((d) => d.message).join("\n")).to.equal(true);
    });

    it("copies of dev and prod under new names: judged by what they are (protected or not), not by name", async () => {
        expect(await analyzeAll(pack.client, renamedRun(await stackRun("dev"), "staging"))).to.deep.equal([]);
        const singleAz = renamedRun(await runStack("prod", { patch: (c) => (c["platform:database"].multiAz = false) }), "prodeu");
        const found = await analyzeAll(pack.client, singleAz);
        expect(found.map((d) => [d.policy, d.resource, d.enforcement])).to.deep.equal([["rds-5-multi-az", "app-db", MANDATORY]]);
    });

    it("an unprotected stack's config (policy/config.advisory.json, all advisory) turns violations into advice", async () => {
        const req = new messages.ConfigureAnalyzerRequest();
        for (const c of CONTROLS) {
            const pc = new messages.PolicyConfig();
            pc.setEnforcementlevel(ADVISORY);
            pc.setProperties(new structpb.Struct());
            req.getPolicyconfigMap().set(c.policy, pc);
        }
        await call(pack.client, "configure", req);
        const found = await analyzeAll(pack.client, prod, (type, name, props) =>
            type === "aws:ecs/service:Service" && name === "app" ? { ...props, networkConfiguration: { ...props.networkConfiguration, assignPublicIp: true } } : props,
        );
        expect(found.map((d) => [d.policy, d.resource, d.enforcement])).to.deep.equal([["ecs-2-no-public-ip", "app", ADVISORY]]);
    });
});
