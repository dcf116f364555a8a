import { spawn } from "child_process";
import * as path from "path";
import { ROOT } from "../sim/harness";

/**
 * Runs the program the way `pulumi preview` does: through the Node.js
 * language host of @pulumi/pulumi (`cmd/run`), against a minimal fake
 * resource monitor, with no engine address. Without an engine, the host's
 * `log.error` writes `error: [runtime] <text>` to stderr, so what comes back
 * is exactly the text the CLI shows a user for an error the program throws.
 *
 * The monitor answers only what the host needs before the program's first
 * resource (feature probes, the root stack resource); it is not a mock of
 * AWS, and a program that gets past its config fails on the next call.
 */

const PULUMI_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
// The SDK's own copies of grpc and protobuf, so the wire format is the host's.
const fromSdk = (id: string) => require(require.resolve(id, { paths: [PULUMI_DIR] }));

export interface HostRun {
    readonly exitCode: number | null;
    /** stdout + stderr, ANSI colours stripped. */
    readonly output: string;
}

async function startMonitor(): Promise<{ port: number; stop: () => void }> {
    const grpc = fromSdk("@grpc/grpc-js");
    const services = require(path.join(PULUMI_DIR, "proto/resource_grpc_pb.js"));
    const messages = require(path.join(PULUMI_DIR, "proto/resource_pb.js"));
    const empty = fromSdk("google-protobuf/google/protobuf/empty_pb.js");
    type Callback = (err: unknown, resp?: unknown) => void;
    const impl: Record<string, (call: any, cb: Callback) => void> = {};
    for (const method of Object.keys(services.ResourceMonitorService)) {
        impl[method] = (_call, cb) => cb({ code: grpc.status.UNIMPLEMENTED, details: `fake monitor: ${method}` });
    }
    impl.supportsFeature = (_call, cb) => {
        const resp = new messages.SupportsFeatureResponse();
        resp.setHassupport(false);
        cb(null, resp);
    };
    impl.registerResource = (call, cb) => {
        const req = call.request;
        const resp = new messages.RegisterResourceResponse();
        resp.setUrn(`urn:pulumi:fake::platform::${req.getType()}::${req.getName()}`);
        resp.setId("");
        cb(null, resp);
    };
    impl.registerResourceOutputs = (_call, cb) => cb(null, new empty.Empty());
    const server = new grpc.Server();
    server.addService(services.ResourceMonitorService, impl);
    const port = await new Promise<number>((ok, fail) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err: Error | null, p: number) => (err ? fail(err) : ok(p))),
    );
    return { port, stop: () => server.forceShutdown() };
}

/** Which Pulumi project to run: its folder, its name, its `main`, and the environment its runtime options set. */
export interface HostProgram {
    readonly dir: string;
    readonly project: string;
    readonly main: string;
    readonly env: Record<string, string>;
}

/** The platform program (the root Pulumi.yaml). */
const PLATFORM: HostProgram = { dir: ROOT, project: "platform", main: ".", env: {} };

/** Runs a program (index.ts of the root project by default) for `stack` through the real language host with `config` (engine form: strings, JSON for objects). */
export async function runThroughLanguageHost(stack: string, config: Record<string, string>, timeoutMs = 60_000, program: HostProgram = PLATFORM): Promise<HostRun> {
    const monitor = await startMonitor();
    try {
        const host = path.join(PULUMI_DIR, "cmd", "run");
        const child = spawn(
            process.execPath,
            [host, `--monitor=127.0.0.1:${monitor.port}`, `--project=${program.project}`, `--stack=${stack}`, `--root-directory=${program.dir}`, `--pwd=${program.dir}`, program.main],
            {
                cwd: program.dir,
                env: {
                    ...process.env,
                    PULUMI_CONFIG: JSON.stringify(config),
                    // What the CLI sets for `runtime: {name: nodejs, options: {typescript: true}}`.
                    PULUMI_NODEJS_TYPESCRIPT: "true",
                    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
                    FORCE_COLOR: "0",
                    ...program.env,
                },
                stdio: ["ignore", "pipe", "pipe"],
            },
        );
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        const exitCode = await new Promise<number | null>((ok) => child.on("close", (code) => ok(code)));
        clearTimeout(timer);
        return { exitCode, output: output.replace(/\x1b\[[0-9;]*m/g, "") };
    } finally {
        monitor.stop();
    }
}
