import { execFileSync } from "child_process";
import * as path from "path";
import * as util from "util";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../config/stackFile";
import * as mocks from "./mocks";

/**
 * Runs the real program (index.ts) for a named stack under Pulumi mocks, with
 * that stack's own Pulumi.<stack>.yaml, and returns every registered resource.
 * The plan tool and every test use this one function, so what we test is
 * what users edit and what the plan shows.
 */

export const ROOT = path.resolve(__dirname, "..");
const PROGRAM = path.join(ROOT, "index.ts");

export interface Resource {
    readonly urn: string;
    /** The id the mocks gave it (what other resources' inputs see as `.id`). */
    readonly id: string;
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, any>;
    readonly custom: boolean;
    /** The `protect` resource option. */
    readonly protect: boolean;
    /** The `ignoreChanges` resource option. */
    readonly ignoreChanges: readonly string[];
    /** The `retainOnDelete` resource option. */
    readonly retainOnDelete: boolean;
    /** The `deleteBeforeReplace` resource option. */
    readonly deleteBeforeReplace: boolean;
    /** The `replaceOnChanges` resource option. */
    readonly replaceOnChanges: readonly string[];
    /** The `aliases` resource option, as the engine receives them (URNs or specs). */
    readonly aliases: readonly unknown[];
    /** URNs this resource depends on: `dependsOn` plus the resources its inputs come from. */
    readonly dependencies: readonly string[];
    /** Per input property, the URNs its value comes from (what CrossGuard's `propertyDependencies` sees). */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    /** The `customTimeouts` resource option (create/update/delete), empty strings when unset. */
    readonly customTimeouts: { readonly create: string; readonly update: string; readonly delete: string };
    /** The outputs the mocks gave it (inputs plus invented computed values). */
    readonly state: Record<string, any>;
    /** Dotted paths of inputs that were marked secret (their values are unwrapped in `inputs`). */
    readonly secretPaths: readonly string[];
    /** URN of the parent resource, or undefined at the top level. */
    readonly parentUrn?: string;
    /** The explicit provider reference (`<provider urn>::<id>`), or "" for the default provider. */
    readonly provider: string;
    /** The `providers` map a component was given (package → provider reference). */
    readonly providers: Record<string, string>;
}

export interface Invoke {
    readonly token: string;
    readonly args: Record<string, any>;
    /** The explicit provider reference (`<provider urn>::<id>`), or "" for the default provider. */
    readonly provider: string;
}

export interface StackRun {
    readonly stack: string;
    readonly resources: readonly Resource[];
    readonly invokes: readonly Invoke[];
    /** The program's stack outputs, resolved. */
    readonly outputs: Record<string, unknown>;
    /** The error the program failed with, if it did. */
    readonly error?: Error;
    /** What the program passed to pulumi.log.warn, in order (the engine shows them under `pulumi up`). */
    readonly warnings: readonly string[];
    /** ECR's tags and SSM's parameters as the run leaves them (RunOptions.registry plus what it wrote): the next run's registry. */
    readonly registry: mocks.Registry;
}

export type StackConfig = Record<string, any>;

export interface RunOptions {
    /** Edit the stack's parsed config before the run (the bad-config tests). */
    readonly patch?: (config: StackConfig) => void;
    /** Extra environment for the run (restored afterwards). */
    readonly env?: Record<string, string>;
    /** Run as `pulumi preview` does (isDryRun), not as `up`. */
    readonly preview?: boolean;
    /** Change what the mocked provider answers for a resource (a state AWS has not reached yet). */
    readonly state?: (type: string, name: string, state: Record<string, any>) => Record<string, any>;
    /** Image tags ECR already holds (`<repository name>:<tag>` to digest); none by default (a promoting stack: its source's run). */
    readonly registry?: mocks.Registry;
    /** The docker.Image builds have no diff (inputs as in the state): nothing is pushed. By default a build on `up` pushes its tag. */
    readonly unchangedBuilds?: boolean;
    /** Invokes AWS refuses (AccessDeniedException), as before a grant is applied. */
    readonly denied?: readonly string[];
}

/**
 * Where the stack files are read from: the repository's, or (PLATFORM_STACK_DIR)
 * a directory of rewritten copies, so that the suite's stack checks also run on
 * values other than the committed examples (tests/otherValues.test.ts).
 */
export const STACK_DIR = process.env.PLATFORM_STACK_DIR || ROOT;

/** The `config:` map of Pulumi.<stack>.yaml, parsed. */
export function readStackConfig(stack: string): StackConfig {
    return structuredClone(readStackFile(STACK_DIR, stack));
}

/** What the engine hands the program: every value as a string, structured ones as JSON. */
export function engineConfig(config: StackConfig): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) {
        out[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return out;
}

type RegisterFn = (req: any, cb: (err: unknown, resp: any) => void) => void;

/** What a registration request tells the engine besides the inputs: the resource options. */
type Registration = Pick<
    Resource,
    "parentUrn" | "custom" | "protect" | "ignoreChanges" | "retainOnDelete" | "deleteBeforeReplace" | "replaceOnChanges" | "aliases" | "dependencies" | "propertyDependencies" | "customTimeouts" | "provider" | "providers"
>;

function registrationOf(req: any): Registration {
    return {
        parentUrn: req.getParent() || undefined,
        custom: req.getCustom(),
        protect: Boolean(req.getProtect()),
        ignoreChanges: req.getIgnorechangesList(),
        retainOnDelete: Boolean(req.getRetainondelete()),
        deleteBeforeReplace: Boolean(req.getDeletebeforereplace()),
        replaceOnChanges: req.getReplaceonchangesList(),
        aliases: [...req.getAliasurnsList(), ...req.getAliasesList().map((a: any) => a.toObject())],
        dependencies: req.getDependenciesList(),
        propertyDependencies: Object.fromEntries([...req.getPropertydependenciesMap().entries()].map(([k, v]: [string, any]) => [k, v.getUrnsList() as string[]])),
        provider: req.getProvider(),
        providers: Object.fromEntries(req.getProvidersMap().entries()),
        customTimeouts: {
            create: req.getCustomtimeouts()?.getCreate() ?? "",
            update: req.getCustomtimeouts()?.getUpdate() ?? "",
            delete: req.getCustomtimeouts()?.getDelete() ?? "",
        },
    };
}

/** A resource the mock monitor was not asked to register through registerResource: no options. */
const NO_REGISTRATION: Omit<Registration, "custom"> = {
    protect: false,
    ignoreChanges: [],
    retainOnDelete: false,
    deleteBeforeReplace: false,
    replaceOnChanges: [],
    aliases: [],
    dependencies: [],
    propertyDependencies: {},
    customTimeouts: { create: "", update: "", delete: "" },
    provider: "",
    providers: {},
};

/** What one mocked run is set up with: the stack name the URNs carry, its config, how the provider answers. */
interface Session extends Omit<RunOptions, "patch"> {
    readonly stack: string;
    readonly config: StackConfig;
}

/**
 * One run at a time: a run sets the process-wide mocks, config and
 * environment, so two at once (`Promise.all([stackRun("dev"), stackRun("prod")])`)
 * would record into each other. Each waits for the one before, failed or not.
 */
let previousRun: Promise<unknown> = Promise.resolve();

function record(session: Session, body: () => Record<string, unknown>): Promise<StackRun> {
    const run = previousRun.then(() => recordAlone(session, body));
    previousRun = run.catch(() => undefined);
    return run;
}

/**
 * One mocked run: sets up the mocks and the recording monitor, runs `body`
 * (which registers resources and returns what to resolve as outputs), waits
 * for every registration, and returns what was recorded. Both the whole
 * program (runStack) and a single component (runComponent) run through here.
 */
async function recordAlone(session: Session, body: () => Record<string, unknown>): Promise<StackRun> {
    const resources: Resource[] = [];
    const invokes: Invoke[] = [];
    let pending: Registration | undefined;
    // ECR as this run leaves it: what the test says it holds, plus what the run's builds push.
    const registry: Record<string, string> = { ...session.registry };

    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const answer = mocks.newResource(args);
                if (!session.preview && !session.unchangedBuilds) {
                    mocks.recordWrite(registry, args.type, unwrapSecrets(args.inputs, "", []), answer.state);
                }
                const result = session.state ? { ...answer, state: session.state(args.type, args.name, answer.state) } : answer;
                const ctx = pending;
                pending = undefined;
                const secretPaths: string[] = [];
                resources.push({
                    urn: "",
                    id: result.id ?? "",
                    state: result.state,
                    type: args.type,
                    name: args.name,
                    inputs: unwrapSecrets(args.inputs, "", secretPaths),
                    secretPaths,
                    ...(ctx ?? { ...NO_REGISTRATION, custom: Boolean(args.custom) }),
                });
                return result;
            },
            call(args) {
                invokes.push({ token: args.token, args: args.inputs, provider: args.provider ?? "" });
                if (session.denied?.includes(args.token)) {
                    throw mocks.accessDenied(args.token);
                }
                return mocks.call(args, registry);
            },
        },
        "platform",
        session.stack,
        session.preview ?? false,
    );
    // The mock monitor's registerResource calls newResource synchronously
    // before its first await, so a wrapper can hand it the parent and learn the URN.
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: RegisterFn };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        const index = resources.length;
        pending = registrationOf(req);
        register(req, (err, resp) => {
            if (!err && resources[index]) {
                (resources[index] as { urn: string }).urn = resp.getUrn();
            }
            cb(err, resp);
        });
    };
    pulumi.runtime.setAllConfig(engineConfig(session.config));

    // Pulumi records a full stack trace for every resource (its source position)
    // and every promise (leak diagnostics), and ts-node's source-map support
    // formats each one: most of a run's time. Nothing here reads them, so
    // during the run a stack is its first line only.
    const savedPrepare = Error.prepareStackTrace;
    Error.prepareStackTrace = (err) => String(err);
    const savedEnv = { ...process.env };
    Object.assign(process.env, session.env ?? {});
    // Without an engine Pulumi prints a warning with console.warn: kept with the run
    // instead, so it is reported once and for its stack, not for every run a plan or a
    // promoting stack makes of another.
    const warnings: string[] = [];
    const savedWarn = console.warn;
    console.warn = (...args: unknown[]) => {
        const line = util.format(...args);
        const engineless = /^warning: \[runtime\] ([\s\S]*)$/.exec(line);
        if (engineless) {
            warnings.push(engineless[1]);
        } else {
            savedWarn(...args);
        }
    };
    let outputs: Record<string, unknown> = {};
    let error: Error | undefined;
    // An exception inside an `apply` never resolves the outputs; surface it as
    // the run's error instead of letting the test hang until its timeout.
    let failFromApply: (e: unknown) => void = () => undefined;
    const applyFailed = new Promise<never>((_, reject) => (failFromApply = reject));
    const onRejection = (reason: unknown) => failFromApply(reason);
    process.on("unhandledRejection", onRejection);
    try {
        outputs = await Promise.race([resolve(body()), applyFailed]);
        await Promise.race([pulumi.runtime.disconnect(), applyFailed]);
    } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
    } finally {
        process.off("unhandledRejection", onRejection);
        process.env = savedEnv;
        Error.prepareStackTrace = savedPrepare;
        console.warn = savedWarn;
    }
    return { stack: session.stack, resources, invokes, outputs, error, warnings, registry };
}

/** The commit the offline engine deploys (the `deployedSha` output): fixed, so a plan is the same on every commit. */
export const SIM_COMMIT_SHA = "5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f";

/**
 * ECR as a source stack's unpatched run leaves it, per source, environment,
 * directory and commit (image tags name the folders' commits there): the same
 * every time (the stack files are read-only to the runs, and a run copies the
 * registry it is given), so each process runs the source once rather than
 * before every run of the stack that promotes from it.
 */
const sourceRegistries = new Map<string, Promise<mocks.Registry>>();

function headCommit(): string {
    try {
        return execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        return "";
    }
}

function sourceRegistry(source: string, env: RunOptions["env"]): Promise<mocks.Registry> {
    const key = JSON.stringify([source, env ?? {}, process.cwd(), headCommit()]);
    let registry = sourceRegistries.get(key);
    if (registry === undefined) {
        registry = runStack(source, { env }).then((run) => {
            // A failed source run is its own test's failure, never cached for every later run.
            if (run.error) {
                sourceRegistries.delete(key);
            }
            return Object.freeze({ ...run.registry });
        });
        sourceRegistries.set(key, registry);
    }
    return registry;
}

export async function runStack(stack: string, options: RunOptions = {}): Promise<StackRun> {
    const config = readStackConfig(stack);
    options.patch?.(config);
    // A stack that runs another's images (images.promoteFrom) is deployed after it: ECR as that stack's run left it.
    const source = (config["platform:images"] as { promoteFrom?: string } | undefined)?.promoteFrom;
    if (source !== undefined && options.registry === undefined) {
        options = { ...options, registry: await sourceRegistry(source, options.env) };
    }
    return record({ ...options, env: { CI_COMMIT_SHA: SIM_COMMIT_SHA, ...options.env }, stack, config }, () => {
        delete require.cache[require.resolve(PROGRAM)];
        return require(PROGRAM) as Record<string, unknown>;
    });
}

export interface ComponentRunOptions extends Omit<RunOptions, "patch"> {
    /** The stack name the URNs carry (default "component"); the naming the component builds with is in its Args. */
    readonly stack?: string;
    /** Config the engine hands the run, as in a Pulumi.<stack>.yaml (default none). */
    readonly config?: StackConfig;
}

/**
 * Builds one component (or a few) under the same mocks and recorder as a
 * stack run: `build` constructs it from its Args. The run's outputs are the
 * returned object's own Output properties (a component's `clusterArn`, ...),
 * resolved; a build that throws is the run's error, as a failing program is.
 */
export function runComponent(build: () => unknown, options: ComponentRunOptions = {}): Promise<StackRun> {
    return record({ ...options, stack: options.stack ?? "component", config: options.config ?? {} }, () => {
        const built = build();
        if (!built || typeof built !== "object") {
            return {};
        }
        return Object.fromEntries(Object.entries(built).filter(([, v]) => pulumi.Output.isInstance(v)));
    });
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Replaces the SDK's secret envelopes with their values, noting where they were. */
function unwrapSecrets(v: any, path: string, found: string[]): any {
    if (Array.isArray(v)) {
        return v.map((x, i) => unwrapSecrets(x, `${path}[${i}]`, found));
    }
    if (v && typeof v === "object") {
        if (v[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") {
            found.push(path || "(root)");
            return unwrapSecrets(v.value, path, found);
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x, path ? `${path}.${k}` : k, found)]));
    }
    return v;
}

/**
 * Each output's value; one a preview cannot know yet (a new image's digest) is
 * undefined, as `apply` would never run for it. (The SDK's own promise of an
 * output's value, which the engine's serializer uses too.)
 */
async function resolve(exports: Record<string, unknown>): Promise<Record<string, unknown>> {
    const values = await Promise.all(Object.entries(exports).map(async ([k, v]) => [k, await (pulumi.output(v) as unknown as { promise(): Promise<unknown> }).promise()] as const));
    return Object.fromEntries(values);
}

/** The name of the resource a URN names (its last `::` segment). */
export function urnName(urn: string | undefined): string | undefined {
    return urn?.split("::").pop();
}

/** The type of the resource a URN names (the last link of its type chain). */
export function urnType(urn: string | undefined): string | undefined {
    return urn?.split("::")[2]?.split("$").pop();
}

/** Query helpers over a run. */
export function ofType(run: StackRun, type: string): Resource[] {
    return run.resources.filter((r) => r.type === type);
}

export function named(run: StackRun, type: string, name: string): Resource {
    const r = run.resources.find((x) => x.type === type && x.name === name);
    if (!r) {
        throw new Error(`no ${type} named ${name} in ${run.stack}; have: ${ofType(run, type).map((x) => x.name).join(", ")}`);
    }
    return r;
}

/** Resources of `type` anywhere below the component named `component` (e.g. "app", "gitlab"). */
export function inComponent(run: StackRun, type: string, component: string): Resource[] {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const below = (r: Resource): boolean => {
        for (let p = r.parentUrn ? byUrn.get(r.parentUrn) : undefined; p; p = p.parentUrn ? byUrn.get(p.parentUrn) : undefined) {
            if (!p.custom && p.name === component) {
                return true;
            }
        }
        return false;
    };
    return ofType(run, type).filter(below);
}

export function childrenOf(run: StackRun, parent: Resource): Resource[] {
    return run.resources.filter((r) => r.parentUrn === parent.urn);
}

const cache = new Map<string, Promise<StackRun>>();

/** One unpatched run per stack, shared by every test file (runs are deterministic). */
export function stackRun(stack: string): Promise<StackRun> {
    let run = cache.get(stack);
    if (!run) {
        run = runStack(stack);
        cache.set(stack, run);
    }
    return run;
}

/** One patched run per key, shared like stackRun (the patch must be the same for the same key). */
export function variantRun(key: string, stack: string, patch: (config: StackConfig) => void): Promise<StackRun> {
    let run = cache.get(key);
    if (!run) {
        run = runStack(stack, { patch });
        cache.set(key, run);
    }
    return run;
}

export const STACKS = ["dev", "prod"] as const;
