import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { CONTROLS } from "../policy/controls";
import { ROOT, stackRun, StackRun } from "./harness";

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

function request(run: StackRun, edit: (type: string, name: string, props: Record<string, any>) => Record<string, any> = (_t, _n, p) => p): any {
    const req = new messages.AnalyzeStackRequest();
    req.setResourcesList(
        run.resources.filter((r) => r.urn).map((r) => {
            const res = new messages.AnalyzerResource();
            res.setType(r.type);
            res.setName(r.name);
            res.setUrn(r.urn);
            // The CLI always sends the resource's options (the pack refuses a request without).
            const opts = new messages.AnalyzerResourceOptions();
            opts.setProtect(r.protect);
            res.setOptions(opts);
            res.setDependenciesList([...r.dependencies]);
            res.setProperties(structpb.Struct.fromJavaScript(JSON.parse(JSON.stringify(edit(r.type, r.name, r.inputs)))));
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

describe("policy pack: served as the Pulumi CLI runs it (gRPC Analyzer)", function () {
    this.timeout(120_000);
    let pack: { client: any; proc: ChildProcess };
    before(async () => {
        pack = await startPack();
    });
    after(() => pack?.proc.kill());

    it("names every control as a mandatory policy", async () => {
        const info = await call(pack.client, "getAnalyzerInfo", new emptypb.Empty());
        expect(info.getName()).to.equal("platform-security-hub");
        const policies = info.getPoliciesList().map((p: any) => p.getName());
        expect(policies).to.have.members(CONTROLS.map((c) => c.policy));
        // EnforcementLevel 1 is MANDATORY in the analyzer protocol (0 advisory).
        expect(new Set(info.getPoliciesList().map((p: any) => p.getEnforcementlevel()))).to.deep.equal(new Set([1]));
    });

    it("prod's graph: no diagnostics; a public IP and a writable app root: two, on those resources", async () => {
        const run = await stackRun("prod");
        const clean = await call(pack.client, "analyzeStack", request(run));
        expect(clean.getDiagnosticsList().map((d: any) => d.getMessage())).to.deep.equal([]);

        const broken = await call(
            pack.client,
            "analyzeStack",
            request(run, (type, name, props) => {
                if (type === "aws:ecs/service:Service" && name === "app") {
                    return { ...props, networkConfiguration: { ...props.networkConfiguration, assignPublicIp: true } };
                }
                if (type === "aws:ecs/taskDefinition:TaskDefinition" && name === "app") {
                    return { ...props, containerDefinitions: props.containerDefinitions.replace('"readonlyRootFilesystem":true', '"readonlyRootFilesystem":false') };
                }
                return props;
            }),
        );
        const found = broken.getDiagnosticsList().map((d: any) => [d.getPolicyname(), d.getUrn().split("::").pop()]);
        expect(found).to.have.deep.members([
            ["ecs-2-no-public-ip", "app"],
            ["ecs-5-read-only-root", "app"],
        ]);
    });
});
