import { z } from "zod";
import { minuteOfDay, weekdays } from "../../facts/warmPool";
import { invalid, isTimeZone } from "../shapes";

/** Each worker still runs one job (maxUseCount 1): a warm worker is one not yet used. */
const warmPoolSchema = z
    .strictObject({
        days: z
            .string()
            .refine((d) => weekdays(d) !== undefined, { error: invalid("days of the week (mon-fri, mon,wed,fri)") })
            .default("mon-fri")
            .describe("Days of the week with a warm pool (mon-fri, mon,wed,fri, sat-sun), Monday first."),
        start: z
            .string()
            .refine((t) => minuteOfDay(t) !== undefined, { error: invalid("a time of day (HH:MM)") })
            .default("08:00")
            .describe("Local time (HH:MM, 24 h) the pool is filled from."),
        end: z
            .string()
            .refine((t) => minuteOfDay(t) !== undefined, { error: invalid("a time of day (HH:MM)") })
            .default("19:00")
            .describe("Local time (HH:MM) the pool ends, the same day, after start."),
        timezone: z
            .string()
            .refine(isTimeZone, { error: invalid("an IANA time zone (e.g. UTC, Europe/Berlin)") })
            .default("Europe/Berlin")
            .describe("IANA time zone of start and end (gitlab-runner evaluates the periods in it)."),
        idle: z.number().int().min(1).max(100).default(1).describe("Idle workers of the general fleet kept in the window; at most runner.maxInstances."),
        // The deploy fleet's two workers: components/runner/facts.ts DEPLOY_WORKERS.
        deployIdle: z
            .number()
            .int()
            .min(0)
            .max(2)
            .default(1)
            .describe("Idle workers of the deploy fleet in the window (at most its two): a push's deploy dev then starts without booting one, the last step before the app serves."),
    })
    .superRefine((w, ctx) => {
        const [start, end] = [minuteOfDay(w.start), minuteOfDay(w.end)];
        if (start !== undefined && end !== undefined && end <= start) {
            ctx.addIssue({ code: "custom", path: ["end"], message: `${w.end} is not after start ${w.start} (the window is one day's)` });
        }
    });

/** The `platform:runner` section (components/runner/). */
export const runnerSchema = z.strictObject({
    enabled: z.boolean().default(false).describe("Run a runner manager and its autoscaled EC2 workers in this stack; when false the other keys are checked but unused."),
    instanceType: z
        .string()
        .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: invalid("an EC2 instance type (family.size)") })
        .default("m7i.large")
        .describe("The workers' EC2 instance type (Graviton types get the arm64 AMI)."),
    spot: z.boolean().default(false).describe("Spot workers: cheaper; a job on a reclaimed instance fails and must be retried."),
    maxInstances: z.number().int().min(1).max(100).default(10).describe("The most workers at once (the Auto Scaling group's maximum)."),
    /**
     * The general fleet runs merge requests' code with a privileged
     * Docker-in-Docker service, which owns its host: a second job there
     * (prod's preview with its role among them) would be open to it.
     */
    capacityPerInstance: z
        .literal(1, { error: invalid("1: a worker runs one job at a time (a job's privileged Docker-in-Docker owns its host)") })
        .default(1)
        .describe("Jobs one worker runs at once: 1 only (a job's privileged Docker-in-Docker owns its host)."),
    /**
     * Every job gets a fresh Docker host, so no job (a privileged dind included)
     * leaves anything on it for the next: an image in the daemon's cache, a
     * changed daemon, a process.
     */
    maxUseCount: z
        .literal(1, { error: invalid("1: a worker runs one job and is replaced (nothing a job leaves on its host reaches the next)") })
        .default(1)
        .describe("Jobs one worker runs before it is replaced: 1 only (nothing a job leaves on its host reaches the next)."),
    idleMinutes: z.number().int().min(1).max(60).default(5).describe("Minutes an idle worker is kept before it is terminated."),
    volumeSizeGb: z.number().int().min(30).max(1000).default(50).describe("The workers' root volume in GiB (Docker images and build directories)."),
    warmPool: warmPoolSchema
        .optional()
        .describe("Working hours with idle workers ready in each fleet, so a job starts on a booted worker instead of waiting for one; unset: every job boots its worker (docs/decisions/runner.md)."),
    // ECR reads the secret when it creates the rule.
    dockerHubCache: z
        .boolean()
        .default(false)
        .describe("Pull Docker Hub images through an ECR pull-through cache; set it once the Docker Hub access token is in the secret the runner creates (docs/decisions/runner.md)."),
})
    .superRefine((r, ctx) => {
        if (r.warmPool && r.warmPool.idle > r.maxInstances) {
            ctx.addIssue({ code: "custom", path: ["warmPool", "idle"], message: `${r.warmPool.idle} idle workers exceed maxInstances ${r.maxInstances}` });
        }
    })
    // A disabled runner's settings are still checked (switching it off keeps a valid file) but handed on to nothing.
    .transform((r) => (r.enabled ? { ...r, enabled: true as const } : { enabled: false as const }))
    .describe("A self-hosted GitLab Runner in this stack: a runner manager and its autoscaled EC2 workers (docs/decisions/runner.md).");

export type RunnerConfig = z.output<typeof runnerSchema>;
