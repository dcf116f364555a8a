import { z } from "zod";
import { appConnections } from "../../components/app/facts";
import { rdsDefaultMaxConnections, RESERVED_CONNECTIONS } from "../../facts/rds";
import { checkSizing, domainName, invalid, serviceSizing } from "../shapes";
import { ClusterConfig } from "./cluster";
import { DatabaseConfig } from "./database";
import { ImagesConfig } from "./images";

/** The `platform:app` section: the Django service, its deployments and its autoscaling. */

const deploymentSchema = z
    .strictObject({
        /**
         * ROLLING: replace tasks behind one target group (dev). CANARY / BLUE_GREEN:
         * ECS shifts traffic between two target groups and can roll back within the
         * bake time on the deployment alarms (prod).
         */
        strategy: z.enum(["ROLLING", "CANARY", "BLUE_GREEN"]).default("ROLLING"),
        /** Minutes the new revision runs with full traffic before the old one is removed. */
        bakeTimeMinutes: z.number().int().min(0).max(1440).default(10),
        /** CANARY: share of traffic sent to the new revision first; ECS takes steps of 0.1. */
        canaryPercent: z
            .number()
            .min(0.1)
            .max(100)
            .refine((p) => Math.abs(p * 10 - Math.round(p * 10)) < 1e-9, { error: invalid("a multiple of 0.1 (ECS's step)") })
            .default(10),
        /**
         * The target group that serves traffic now: "blue" (the service's first
         * group) or "green" (its alternate). ROLLING uses only this group;
         * CANARY/BLUE_GREEN start from it. ECS moves traffic between the two on
         * every canary/blue-green deployment and Pulumi does not undo that, so
         * before switching strategy set this to the group that has the traffic
         * (README: "Switching deployment strategy").
         */
        liveTargetGroup: z.enum(["blue", "green"]).default("blue"),
        /** CANARY: minutes at canaryPercent before shifting the rest. */
        canaryBakeTimeMinutes: z.number().int().min(0).max(1440).default(5),
    });

const autoscalingSchema = z.strictObject({
    /** Target average CPU percent. */
    cpuTarget: z.number().min(10).max(95).default(60),
    /** Target ALB requests per task per minute. */
    requestsPerTarget: z.number().int().min(1).default(1000),
    /** Seconds after a scale-out before the next one. */
    scaleOutCooldown: z.number().int().min(0).max(3600).default(60),
    /** Seconds after a scale-in before the next one; longer than scale-out so capacity drains slowly. */
    scaleInCooldown: z.number().int().min(0).max(3600).default(300),
}).superRefine((a, ctx) => {
    if (a.scaleInCooldown <= a.scaleOutCooldown) {
        ctx.addIssue({ code: "custom", path: ["scaleInCooldown"], message: `${a.scaleInCooldown} must be longer than scaleOutCooldown ${a.scaleOutCooldown}` });
    }
});

export const appSchema = z
    .strictObject({
        /** Public host name of the Django app; must sit inside dns.zoneName. */
        hostName: domainName,
        /** Container port gunicorn listens on. */
        port: z.number().int().min(1024).max(65535).default(8000),
        /** Readiness path the target group checks (checks the database). */
        healthCheckPath: z.string().regex(/^\/[A-Za-z0-9._~\/-]*$/, { error: invalid("a URL path") }).default("/readyz"),
        /** Run on FARGATE_SPOT (needs cluster.fargateSpot). */
        spot: z.boolean().default(false),
        /**
         * ECS Exec (a shell in a running task through SSM). Off by default: it is a
         * way into production. When on, the root filesystem stays read-only and the
         * SSM agent gets writable volumes for its state and logs (README).
         */
        execCommand: z.boolean().default(false),
        deployment: deploymentSchema.prefault({}),
        autoscaling: autoscalingSchema.prefault({}),
        ...serviceSizing,
        cpu: serviceSizing.cpu.default(512),
        memory: serviceSizing.memory.default(1024),
        desiredCount: serviceSizing.desiredCount.default(2),
        minCount: serviceSizing.minCount.default(2),
        maxCount: serviceSizing.maxCount.default(4),
    })
    .superRefine(checkSizing);

export type AppConfig = z.output<typeof appSchema>;

/** What the app asks of other sections: Spot capacity for Spot tasks, and database connections for every worker. */
export function appRules(c: { app: AppConfig; cluster: ClusterConfig; images: ImagesConfig; database: DatabaseConfig }, ctx: z.RefinementCtx): void {
    if (c.app.spot && !c.cluster.fargateSpot) {
        ctx.addIssue({ code: "custom", path: ["app", "spot"], message: "true needs cluster.fargateSpot: true" });
    }
    if (c.app.spot && c.images.platform !== "linux/amd64") {
        ctx.addIssue({ code: "custom", path: ["app", "spot"], message: "Fargate Spot runs x86_64 only; images.platform must be linux/amd64" });
    }
    if (typeof c.app.maxCount === "number" && typeof c.app.cpu === "number" && typeof c.database?.instanceClass === "string") {
        // Every app task's workers keep their connections; a deployment doubles the tasks.
        const limit = rdsDefaultMaxConnections(c.database.instanceClass);
        const need = appConnections(c.app.maxCount, c.app.cpu) + RESERVED_CONNECTIONS;
        if (limit !== undefined && need > limit) {
            ctx.addIssue({
                code: "custom",
                path: ["app", "maxCount"],
                message: `${c.app.maxCount} tasks can hold ${need - RESERVED_CONNECTIONS} database connections during a deployment (2 × tasks × workers × 2, plus ${RESERVED_CONNECTIONS} kept free), over the ${limit} of database.instanceClass ${c.database.instanceClass}: fewer tasks, fewer vCPUs per task, or a larger class`,
            });
        }
    }
}
