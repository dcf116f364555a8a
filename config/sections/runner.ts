import { z } from "zod";
import { invalid } from "../shapes";

/** The `platform:runner` section: a self-hosted GitLab Runner in this stack (components/runner/). */
export const runnerSchema = z.strictObject({
    /** Run a runner manager and its autoscaled EC2 workers in this stack. */
    enabled: z.boolean().default(false),
    /** The workers' EC2 instance type (Graviton types get the arm64 AMI). */
    instanceType: z
        .string()
        .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: invalid("an EC2 instance type (family.size)") })
        .default("m7i.large"),
    /** Spot workers: cheaper; a job on a reclaimed instance fails and must be retried. */
    spot: z.boolean().default(false),
    /** The most workers at once (the Auto Scaling group's maximum). */
    maxInstances: z.number().int().min(1).max(100).default(10),
    /** Jobs one worker runs at once. */
    capacityPerInstance: z.number().int().min(1).max(16).default(1),
    /**
     * Jobs one worker runs before it is replaced. 1: every job gets a fresh Docker
     * host, so no job can leave anything for the next (a deploy's credentials).
     */
    maxUseCount: z.number().int().min(1).max(1000).default(1),
    /** Minutes an idle worker is kept before it is terminated. */
    idleMinutes: z.number().int().min(1).max(60).default(5),
    /** The workers' root volume (Docker images and build directories), GiB. */
    volumeSizeGb: z.number().int().min(30).max(1000).default(50),
})
    // A disabled runner's settings are still checked (switching it off keeps a valid file) but handed on to nothing.
    .transform((r) => (r.enabled ? { ...r, enabled: true as const } : { enabled: false as const }));

export type RunnerConfig = z.output<typeof runnerSchema>;
