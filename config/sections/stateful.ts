import { z } from "zod";

/** The `platform:stateful` section: how hard the stack holds on to its data. */

export const statefulSchema = z.strictObject({
    /** `protect` and deletion protection on databases, file systems and buckets. */
    protect: z.boolean().default(false),
});

export type StatefulConfig = z.output<typeof statefulSchema>;
