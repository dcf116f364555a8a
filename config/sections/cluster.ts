import { z } from "zod";

/** The `platform:cluster` section: the ECS cluster every service runs in. */

export const clusterSchema = z.strictObject({
    /** Container Insights level: enhanced adds per-container metrics at a higher CloudWatch cost. */
    containerInsights: z.enum(["enabled", "enhanced"]).default("enabled"),
    /** Offer FARGATE_SPOT capacity to services (up to 70 % cheaper, may be reclaimed with 2 minutes' notice). */
    fargateSpot: z.boolean().default(false),
});

export type ClusterConfig = z.output<typeof clusterSchema>;
