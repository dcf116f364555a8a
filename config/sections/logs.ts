import { z } from "zod";
import { invalid } from "../shapes";

/** The `platform:logs` section. */

/** Retention periods CloudWatch Logs accepts (PutRetentionPolicy); anything else is an API error. */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
] as const;

export const logsSchema = z.strictObject({
    retentionDays: z
        .number()
        .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
            error: invalid(`a CloudWatch retention period (${LOG_RETENTION_DAYS.join(", ")})`),
        })
        .default(30)
        .describe(`Days every log group this program creates keeps its events: a CloudWatch retention period (${LOG_RETENTION_DAYS.join(", ")}).`),
}).describe("How long CloudWatch Logs keeps this stack's logs.");
