import { z } from "zod";
import { BACKEND_KEEPALIVE_MARGIN_SECONDS } from "../../facts/rollout";

/** The `platform:loadBalancer` section. */

export const loadBalancerSchema = z.strictObject({
    deletionProtection: z.boolean().default(false).describe("ELB deletion protection (prod)."),
    desyncMitigation: z
        .enum(["defensive", "strictest"])
        .default("defensive")
        .describe("HTTP desync mitigation mode; monitor is not accepted (Security Hub ELB.12)."),
    accessLogDays: z.number().int().min(1).max(3650).default(90).describe("Days to keep ALB access logs in their bucket."),
    /**
     * Git over HTTPS and the registry's layer PUTs can go quiet for minutes
     * while the server packs objects or S3 completes a multipart upload, and
     * the ALB must not cut them (504) before the NGINX behind it would. The
     * backends' keep-alive follows it (facts/rollout.ts backendKeepAliveSeconds).
     */
    idleTimeout: z
        .number()
        .int()
        .min(1)
        .max(4000)
        .default(3600)
        .describe(
            `Idle timeout in seconds; the default is GitLab's own proxy timeout (Omnibus NGINX's proxy_read_timeout), so quiet git and registry uploads are not cut. GitLab's NGINX and the app keep idle connections ${BACKEND_KEEPALIVE_MARGIN_SECONDS} s longer.`,
        ),
    waf: z
        .strictObject({
            enabled: z.boolean().default(true).describe("Put the WAF web ACL on the ALB."),
            rateLimitPer5Minutes: z
                .number()
                .int()
                .min(10)
                .max(2_000_000_000)
                .default(2000)
                .describe("Requests one client IP may send in any 5 minutes before it is blocked."),
        })
        .prefault({})
        .describe("AWS WAF on the load balancer: AWS managed rule groups plus a per-IP rate limit."),
}).describe("The public ALB every HTTPS host name shares.");
