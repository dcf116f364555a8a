import { z } from "zod";
import { appConnections } from "../../components/app/facts";
import { FARGATE_CPU_SIZES } from "../../facts/fargate";
import { rdsDefaultMaxConnections, RESERVED_CONNECTIONS } from "../../facts/rds";
import { checkSizing, domainName, invalid, serviceSizing } from "../shapes";
import { ClusterConfig } from "./cluster";
import { DatabaseConfig } from "./database";
import { ImagesConfig } from "./images";

/** The `platform:app` section. */

const deploymentSchema = z
    .strictObject({
        strategy: z
            .enum(["ROLLING", "CANARY", "BLUE_GREEN"])
            .default("ROLLING")
            .describe(
                "ROLLING: replace tasks behind one target group (dev). CANARY / BLUE_GREEN: ECS shifts traffic between two target groups and can roll back within the bake time on the deployment alarms (prod). Switching: docs/operations/switching-deployment-strategy.md.",
            ),
        bakeTimeMinutes: z.number().int().min(0).max(1440).default(10).describe("Minutes the new revision runs with full traffic before the old one is removed."),
        canaryPercent: z
            .number()
            .min(0.1)
            .max(100)
            .refine((p) => Math.abs(p * 10 - Math.round(p * 10)) < 1e-9, { error: invalid("a multiple of 0.1 (ECS's step)") })
            .default(10)
            .describe("CANARY: share of traffic sent to the new revision first, in steps of 0.1 (ECS's step)."),
        liveTargetGroup: z
            .enum(["blue", "green"])
            .default("blue")
            .describe(
                "The target group that serves traffic now: blue (the service's first group) or green (its alternate). ROLLING uses only this group; CANARY/BLUE_GREEN start from it. ECS moves traffic between the two on every canary/blue-green deployment and Pulumi does not undo that: before switching strategy set this to the group that has the traffic (docs/operations/switching-deployment-strategy.md).",
            ),
        canaryBakeTimeMinutes: z.number().int().min(0).max(1440).default(5).describe("CANARY: minutes at canaryPercent before shifting the rest."),
    });

const autoscalingSchema = z.strictObject({
    cpuTarget: z.number().min(10).max(95).default(60).describe("Target average CPU percent."),
    requestsPerTarget: z.number().int().min(1).default(1000).describe("Target ALB requests per task per minute."),
    scaleOutCooldown: z.number().int().min(0).max(3600).default(60).describe("Seconds after a scale-out before the next one."),
    scaleInCooldown: z
        .number()
        .int()
        .min(0)
        .max(3600)
        .default(300)
        .describe("Seconds after a scale-in before the next one; longer than scaleOutCooldown, so capacity drains slowly."),
}).superRefine((a, ctx) => {
    if (a.scaleInCooldown <= a.scaleOutCooldown) {
        ctx.addIssue({ code: "custom", path: ["scaleInCooldown"], message: `${a.scaleInCooldown} must be longer than scaleOutCooldown ${a.scaleOutCooldown}` });
    }
});

export const appSchema = z
    .strictObject({
        hostName: domainName.describe("Public host name of the Django app; inside dns.zoneName, and not another service's host name."),
        port: z.number().int().min(1024).max(65535).default(8000).describe("Container port gunicorn listens on."),
        healthCheckPath: z
            .string()
            .regex(/^\/[A-Za-z0-9._~\/-]*$/, { error: invalid("a URL path") })
            .default("/readyz")
            .describe("Readiness path the target group checks (it checks the database)."),
        spot: z.boolean().default(false).describe("Run the app's tasks on FARGATE_SPOT; needs cluster.fargateSpot, and images.platform linux/amd64 (Spot runs x86_64 only)."),
        // When on, the root filesystem stays read-only and the SSM agent gets writable volumes for its state and logs.
        execCommand: z
            .boolean()
            .default(false)
            .describe("ECS Exec into the app's tasks (a shell through SSM). Off by default: it is a way into production (docs/decisions/app-service.md)."),
        deployment: deploymentSchema.prefault({}).describe("How ECS replaces the app's tasks with a new revision (docs/decisions/app-service.md)."),
        autoscaling: autoscalingSchema.prefault({}).describe("Target tracking of the app's task count between minCount and maxCount."),
        ...serviceSizing,
        cpu: serviceSizing.cpu.default(512).describe(`Fargate CPU units of each task (${FARGATE_CPU_SIZES.join(", ")}).`),
        memory: serviceSizing.memory.default(1024).describe("Fargate memory MiB of each task: a valid pair with app.cpu on the AWS Fargate table."),
        desiredCount: serviceSizing.desiredCount.default(2).describe("Tasks at rest; minCount ≤ desiredCount ≤ maxCount."),
        minCount: serviceSizing.minCount.default(2).describe("Autoscaling floor."),
        maxCount: serviceSizing.maxCount
            .default(4)
            .describe(
                `Autoscaling ceiling. The database connections its tasks can hold during a deployment (2 × tasks × gunicorn workers × 2, plus ${RESERVED_CONNECTIONS} kept free) must fit database.instanceClass's default max_connections.`,
            ),
    })
    .superRefine(checkSizing)
    .describe("The Django service: its host name, size, deployments and autoscaling. A section with no default: every stack sets app.hostName.");

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
