import { z } from "zod";

/** The `platform:stateful` section. */

export const statefulSchema = z.strictObject({
    protect: z
        .boolean()
        .default(false)
        .describe(
            "Pulumi's protect and deletion protection on databases, file systems, secrets and buckets. When true: alarms.email is required, gitlab.web.minCount at least 2, gitlab.redis.multiAz true and gitlab.backup.retentionDays at least 30.",
        ),
}).describe("How hard the stack holds on to its data.");

export type StatefulConfig = z.output<typeof statefulSchema>;
