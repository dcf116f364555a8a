import { z } from "zod";
import { domainName, invalid } from "../shapes";
import { AppConfig } from "./app";
import { GitLabConfig } from "./gitlab";

/** The `platform:dns` section. */

export const dnsSchema = z.strictObject({
    zoneName: domainName.describe(
        "The Route 53 public hosted zone that holds every host name of the stack (app.hostName, gitlab.hostName, gitlab.registryHostName, gitlab.sshHostName: each inside it, each used once).",
    ),
    certificateArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/, { error: invalid("an ACM certificate ARN") })
        .optional()
        .describe("An existing ACM certificate ARN covering every host name; unset: one is issued and DNS-validated."),
}).describe("The hosted zone and certificate behind every host name. A section with no default: every stack sets dns.zoneName.");

export type DnsConfig = z.output<typeof dnsSchema>;

/** Every host name of the stack sits inside the zone (its records and certificate live there), each used once. */
export function dnsRules(c: { dns: DnsConfig; app: AppConfig; gitlab: GitLabConfig }, ctx: z.RefinementCtx): void {
    const zone = c.dns.zoneName;
    const hosts: [string[], string | undefined][] = [
        [["app", "hostName"], c.app.hostName],
        [["gitlab", "hostName"], c.gitlab?.hostName],
        [["gitlab", "registryHostName"], c.gitlab?.registryHostName],
        [["gitlab", "sshHostName"], c.gitlab?.sshHostName],
    ];
    for (const [path, host] of hosts) {
        if (typeof host !== "string" || typeof zone !== "string") {
            continue;
        }
        if (host !== zone && !host.endsWith(`.${zone}`)) {
            ctx.addIssue({ code: "custom", path, message: `${host} is not inside dns.zoneName ${zone}` });
        }
    }
    const seen = new Map<string, string>();
    for (const [path, host] of hosts) {
        if (typeof host !== "string") {
            continue;
        }
        const other = seen.get(host);
        if (other !== undefined) {
            ctx.addIssue({ code: "custom", path, message: `${host} is already used by ${other}; every service needs its own host name` });
        }
        seen.set(host, path.join("."));
    }
}
