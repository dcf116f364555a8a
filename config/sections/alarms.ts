import { z } from "zod";
import { invalid } from "../shapes";
import { StatefulConfig } from "./stateful";

/** The `platform:alarms` section. */

export const alarmsSchema = z.strictObject({
    email: z
        .string()
        .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { error: invalid("an e-mail address") })
        .optional()
        .describe("E-mail subscribed to the stack's alarm topic (confirm the subscription mail); required when stateful.protect is true, a warning when unset."),
    http5xxPercent: z.number().positive().max(100).default(5).describe("Alarm threshold: the targets' 5xx responses as a percentage of requests, over 5 minutes."),
    p99LatencySeconds: z.number().positive().max(60).default(2).describe("Alarm threshold: the targets' p99 response time, seconds."),
    cpuPercent: z.number().positive().max(100).default(85).describe("Alarm threshold: a service's average CPU, percent."),
    memoryPercent: z.number().positive().max(100).default(85).describe("Alarm threshold: a service's average memory, percent."),
}).describe("Alarm thresholds, and who hears about them.");

export type AlarmsConfig = z.output<typeof alarmsSchema>;

export function alarmsRules(c: { alarms: AlarmsConfig; stateful: StatefulConfig }, ctx: z.RefinementCtx): void {
    if (c.stateful.protect && c.alarms.email === undefined) {
        // A protected stack is one somebody depends on: its alarms must reach a person.
        ctx.addIssue({ code: "custom", path: ["alarms", "email"], message: "required when stateful.protect is true: alarms would notify a topic nobody reads" });
    }
}
