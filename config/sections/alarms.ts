import { z } from "zod";
import { invalid } from "../shapes";
import { StatefulConfig } from "./stateful";

/** The `platform:alarms` section: thresholds and who hears about them. */

export const alarmsSchema = z.strictObject({
    /** Optional e-mail subscribed to the stack's alarm topic (confirm the subscription mail). */
    email: z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { error: invalid("an e-mail address") }).optional(),
    /** Target 5xx responses as a percentage of requests, over 5 minutes. */
    http5xxPercent: z.number().positive().max(100).default(5),
    /** Target response time p99, seconds. */
    p99LatencySeconds: z.number().positive().max(60).default(2),
    /** Service average CPU, percent. */
    cpuPercent: z.number().positive().max(100).default(85),
    /** Service average memory, percent. */
    memoryPercent: z.number().positive().max(100).default(85),
});

export type AlarmsConfig = z.output<typeof alarmsSchema>;

export function alarmsRules(c: { alarms: AlarmsConfig; stateful: StatefulConfig }, ctx: z.RefinementCtx): void {
    if (c.stateful.protect && c.alarms.email === undefined) {
        // A protected stack is one somebody depends on: its alarms must reach a person.
        ctx.addIssue({ code: "custom", path: ["alarms", "email"], message: "required when stateful.protect is true: alarms would notify a topic nobody reads" });
    }
}
