import { z } from "zod";

/** The `platform:loadBalancer` section: the public ALB every HTTPS host name shares. */

export const loadBalancerSchema = z.strictObject({
    /** ELB deletion protection (prod). */
    deletionProtection: z.boolean().default(false),
    /** HTTP desync mitigation; "monitor" is not accepted (Security Hub ELB.12). */
    desyncMitigation: z.enum(["defensive", "strictest"]).default("defensive"),
    /** Days to keep ALB access logs in their bucket. */
    accessLogDays: z.number().int().min(1).max(3650).default(90),
    /**
     * Idle timeout in seconds (ALB's range 1-4000). The default is GitLab's own
     * proxy timeout (Omnibus NGINX `proxy_read_timeout` 3600): git over HTTPS
     * and the registry's layer PUTs can go quiet for minutes while the server
     * packs objects or S3 completes a multipart upload, and the ALB must not cut
     * them (504) before the NGINX behind it would. The backends' keep-alive
     * follows it (facts/rollout.ts backendKeepAliveSeconds).
     */
    idleTimeout: z.number().int().min(1).max(4000).default(3600),
    /** AWS WAF on the load balancer: AWS managed rule groups plus a per-IP rate limit. */
    waf: z
        .strictObject({
            enabled: z.boolean().default(true),
            /** Requests one client IP may send in any 5 minutes before it is blocked (WAF's range 10–2,000,000,000). */
            rateLimitPer5Minutes: z.number().int().min(10).max(2_000_000_000).default(2000),
        })
        .prefault({}),
});
