import { z } from "zod";

/** The `platform:cluster` section. */

export const clusterSchema = z.strictObject({
    containerInsights: z
        .enum(["enabled", "enhanced"])
        .default("enabled")
        .describe("Container Insights level: enhanced adds per-container metrics at a higher CloudWatch cost."),
    fargateSpot: z
        .boolean()
        .default(false)
        .describe("Offer FARGATE_SPOT capacity to services (up to 70 % cheaper, may be reclaimed with 2 minutes' notice); app.spot and gitlab.spot need it."),
}).describe("The ECS cluster every service runs in.");

export type ClusterConfig = z.output<typeof clusterSchema>;
