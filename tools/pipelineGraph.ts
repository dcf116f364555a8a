import { parseGitlabCi } from "../ci/gitlabYaml";

/**
 * The job graph of one kind of pipeline, read from .gitlab-ci.yml for the
 * pipeline model (tools/pipelineModel.ts): `extends` merged as GitLab merges
 * it, each job's `rules` evaluated for the pipeline's variables and changed
 * files, `needs` (a matching rule's own `needs` first; without any, every job
 * of the earlier stages), `tags` and `parallel: N`. Only what the file uses
 * is supported, and anything else fails loudly: tests/pipelineModel.test.ts
 * holds the jobs this finds for each kind of pipeline equal to what
 * gitlab-ci-local finds.
 */

export interface GraphJob {
    readonly name: string;
    readonly stage: string;
    /** The jobs it waits for (those of this pipeline only). */
    readonly needs: string[];
    /** The job's image and its services' images, top-level variables expanded. */
    readonly images: string[];
    /** `parallel: N`: N copies, each on its own worker; 1 without it. */
    readonly parallel: number;
    /** The runner tags it asks for (an untagged job: none). */
    readonly tags: string[];
    readonly when: "on_success" | "manual";
}

export interface PipelineInput {
    readonly vars: Readonly<Record<string, string>>;
    /** The files the pipeline's commits change (rules' `changes`). */
    readonly changed: readonly string[];
}

type Job = Record<string, any>;
const RESERVED = new Set(["default", "include", "stages", "variables", "workflow", "image", "services", "cache", "before_script", "after_script"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** GitLab's `extends`: hashes merged deeply, the job's own keys last; lists replaced. */
function merge(base: Job, over: Job): Job {
    const out: Job = { ...base };
    for (const [k, v] of Object.entries(over)) {
        out[k] = isObject(v) && isObject(out[k]) ? merge(out[k], v) : v;
    }
    return out;
}

function resolve(doc: Record<string, any>, name: string, seen: string[] = []): Job {
    const job = doc[name] as Job | undefined;
    if (!isObject(job)) {
        throw new Error(`pipeline model: ${JSON.stringify(name)} is not a job or template in .gitlab-ci.yml`);
    }
    if (seen.includes(name)) {
        throw new Error(`pipeline model: extends cycle ${[...seen, name].join(" -> ")}`);
    }
    const bases = job.extends === undefined ? [] : Array.isArray(job.extends) ? job.extends : [job.extends];
    const own: Job = { ...job };
    delete own.extends;
    return merge(bases.reduce((acc: Job, b: string) => merge(acc, resolve(doc, b, [...seen, name])), {}), own);
}

/** `$VAR` and `${VAR}` replaced from `vars`, repeatedly (a value may name another); unknown ones stay. */
export function expand(text: string, vars: Readonly<Record<string, string>>): string {
    let out = text;
    for (let i = 0; i < 10; i++) {
        const next = out.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, v: string) => vars[v] ?? m);
        if (next === out) {
            return out;
        }
        out = next;
    }
    return out;
}

/** A glob of `rules:changes` (`*` within a path segment, `**` across) as a regular expression. */
function globRegExp(glob: string): RegExp {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\u0000/g, ".*");
    return new RegExp(`^${body}$`);
}

type Token = { t: "op"; v: string } | { t: "val"; v: string | null } | { t: "re"; v: RegExp };

function tokenize(expr: string, vars: Readonly<Record<string, string>>): Token[] {
    const tokens: Token[] = [];
    const re = /\s*(?:(==|!=|=~|!~|&&|\|\||\(|\))|\$([A-Za-z_][A-Za-z0-9_]*)|"([^"]*)"|'([^']*)'|\/((?:\\.|[^/])*)\/([a-z]*)|(null))/y;
    let at = 0;
    while (at < expr.length && expr.slice(at).trim() !== "") {
        re.lastIndex = at;
        const m = re.exec(expr);
        if (!m) {
            throw new Error(`pipeline model: cannot read the rule ${JSON.stringify(expr)} at ${JSON.stringify(expr.slice(at))}`);
        }
        at = re.lastIndex;
        if (m[1]) {
            tokens.push({ t: "op", v: m[1] });
        } else if (m[2]) {
            tokens.push({ t: "val", v: vars[m[2]] ?? null });
        } else if (m[3] !== undefined || m[4] !== undefined) {
            tokens.push({ t: "val", v: expand(m[3] ?? m[4], vars) });
        } else if (m[5] !== undefined) {
            tokens.push({ t: "re", v: new RegExp(m[5], m[6]) });
        } else {
            tokens.push({ t: "val", v: null });
        }
    }
    return tokens;
}

/** A `rules:if` expression: `==`, `!=`, `=~`, `!~`, `&&` before `||`, parentheses, a bare variable (set and not empty). */
export function evaluateIf(expr: string, vars: Readonly<Record<string, string>>): boolean {
    const tokens = tokenize(expr, vars);
    let i = 0;
    const operand = (): Token => tokens[i++];
    const comparison = (): boolean => {
        if (tokens[i]?.t === "op" && tokens[i].v === "(") {
            i++;
            const v = or();
            i++; // ")"
            return v;
        }
        const left = operand();
        const op = tokens[i];
        if (op?.t === "op" && ["==", "!=", "=~", "!~"].includes(op.v)) {
            i++;
            const right = operand();
            if (op.v === "=~" || op.v === "!~") {
                const hit = right.t === "re" && left.t === "val" && left.v !== null && right.v.test(left.v);
                return op.v === "=~" ? hit : !hit;
            }
            const same = left.v === right.v || (left.t === "val" && right.t === "val" && (left.v ?? "") === "" && right.v === null);
            return op.v === "==" ? same : !same;
        }
        return left.t === "val" && left.v !== null && left.v !== "";
    };
    const and = (): boolean => {
        let v = comparison();
        while (tokens[i]?.t === "op" && tokens[i].v === "&&") {
            i++;
            v = comparison() && v;
        }
        return v;
    };
    const or = (): boolean => {
        let v = and();
        while (tokens[i]?.t === "op" && tokens[i].v === "||") {
            i++;
            v = and() || v;
        }
        return v;
    };
    return or();
}

/** The job's `when` in this pipeline and the matching rule's `variables` and `needs`, or undefined when its rules leave it out. */
function whenOf(job: Job, vars: Readonly<Record<string, string>>, changed: readonly string[]): { when: string; variables: Record<string, string>; needs?: unknown } | undefined {
    if (job.only !== undefined || job.except !== undefined) {
        throw new Error("pipeline model: only/except are not modelled; use rules");
    }
    if (!Array.isArray(job.rules)) {
        return { when: job.when ?? "on_success", variables: {} };
    }
    for (const rule of job.rules as Job[]) {
        const ifOk = rule.if === undefined || evaluateIf(String(rule.if), vars);
        const paths: string[] | undefined = rule.changes === undefined ? undefined : Array.isArray(rule.changes) ? rule.changes : rule.changes.paths;
        const changesOk = paths === undefined || paths.some((p) => changed.some((f) => globRegExp(p).test(f)));
        if (rule.exists !== undefined) {
            throw new Error("pipeline model: rules:exists is not modelled");
        }
        if (ifOk && changesOk) {
            return { when: rule.when ?? job.when ?? "on_success", variables: stringValues(rule.variables), needs: rule.needs };
        }
    }
    return undefined;
}

function needsOf(job: Job, stageJobs: (before: string) => string[], present: Set<string>): string[] {
    if (job.needs === undefined) {
        return stageJobs(job.stage ?? "test");
    }
    return (job.needs as (string | { job: string; optional?: boolean })[])
        .map((n) => (typeof n === "string" ? { job: n, optional: false } : n))
        .filter((n) => {
            if (!present.has(n.job) && !n.optional) {
                throw new Error(`pipeline model: a job needs ${JSON.stringify(n.job)}, which this pipeline does not have (GitLab would refuse it)`);
            }
            return present.has(n.job);
        })
        .map((n) => n.job);
}

const stringValues = (v: unknown): Record<string, string> => Object.fromEntries(Object.entries(isObject(v) ? v : {}).map(([k, x]) => [k, String(isObject(x) ? x.value : x)]));

/** The jobs of one kind of pipeline, with what each waits for. */
export function pipelineGraph(ciText: string, input: PipelineInput): GraphJob[] {
    const doc = parseGitlabCi(ciText) as Record<string, any>;
    const top = stringValues(doc.variables);
    const stages: string[] = [".pre", ...((doc.stages as string[] | undefined) ?? ["build", "test", "deploy"]), ".post"];
    // GitLab's precedence, lowest first: the file's variables, the job's, the rule's; the pipeline's own over all.
    const chosen: { name: string; job: Job; when: string; vars: Record<string, string> }[] = [];
    // GitLab's rules:needs replace the job's needs when that rule matches.
    for (const name of Object.keys(doc).filter((k) => !k.startsWith(".") && !RESERVED.has(k))) {
        const job = resolve(doc, name);
        const vars = { ...top, ...stringValues(job.variables), ...input.vars };
        const rule = whenOf(job, vars, input.changed);
        if (rule !== undefined && rule.when !== "never") {
            const withNeeds = rule.needs === undefined ? job : { ...job, needs: rule.needs };
            chosen.push({ name, job: withNeeds, when: rule.when, vars: { ...top, ...stringValues(job.variables), ...rule.variables, ...input.vars } });
        }
    }
    const present = new Set(chosen.map((c) => c.name));
    const stageJobs = (stage: string) => chosen.filter((c) => c.when !== "manual" && stages.indexOf(c.job.stage ?? "test") < stages.indexOf(stage)).map((c) => c.name);
    return chosen.map(({ name, job, when, vars }) => {
        if (when !== "on_success" && when !== "manual") {
            throw new Error(`pipeline model: ${name}: when ${JSON.stringify(when)} is not modelled`);
        }
        const image = job.image ?? doc.image;
        const imageName = isObject(image) ? String(image.name) : image === undefined ? undefined : String(image);
        const services = ((job.services ?? doc.services ?? []) as (string | { name: string })[]).map((s) => (typeof s === "string" ? s : s.name));
        const parallel = job.parallel === undefined ? 1 : typeof job.parallel === "number" ? job.parallel : NaN;
        if (!Number.isInteger(parallel) || parallel < 1) {
            throw new Error(`pipeline model: ${name}: parallel ${JSON.stringify(job.parallel)} is not modelled (a number of copies only)`);
        }
        return {
            name,
            stage: job.stage ?? "test",
            needs: needsOf(job, stageJobs, present),
            images: [imageName, ...services].filter((x): x is string => x !== undefined).map((x) => expand(x, vars)),
            parallel,
            tags: ((job.tags ?? []) as unknown[]).map((t) => expand(String(t), vars)),
            when,
        };
    });
}
