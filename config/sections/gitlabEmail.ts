import { z } from "zod";
import { domainName, invalid } from "../shapes";

/**
 * `platform:gitlab` → `email`: how GitLab sends mail (notifications, password
 * resets, confirmations). The image has no sendmail, so without SMTP every
 * mailer job fails and retries in Sidekiq.
 *
 * - ses (default): Amazon SES in the stack's region, a domain identity for
 *   dns.zoneName with Easy DKIM records in the zone, SMTP credentials of an
 *   IAM user that may only send as `from` (docs/decisions/gitlab-email.md).
 * - smtp: another relay; its password is the whole value of an existing
 *   Secrets Manager secret.
 * - none: GitLab's outgoing mail off (gitlab_email_enabled false).
 */

const address = z.email({ error: invalid("an e-mail address") });

/** The discriminator, in each provider's branch. */
const PROVIDER = "How GitLab sends mail: ses (the default), smtp or none (docs/decisions/gitlab-email.md).";

/** What every sending provider shares: who the mail is from. */
const sender = {
    from: address.optional().describe("The From address; ses: inside dns.zoneName (the verified domain).").meta({ computedDefault: "gitlab@<gitlab.hostName>" }),
    replyTo: address.optional().describe("The Reply-To address.").meta({ computedDefault: "noreply@<gitlab.hostName>" }),
    displayName: z.string().min(1).default("GitLab").describe("The From name."),
};

const sesSchema = z
    .strictObject({ provider: z.literal("ses").describe(PROVIDER), ...sender })
    .describe("ses: Amazon SES in the stack's region: a domain identity for dns.zoneName with Easy DKIM records in the zone, SMTP credentials of an IAM user that may only send as from.");

const smtpSchema = z.strictObject({
    provider: z.literal("smtp").describe(PROVIDER),
    ...sender,
    address: domainName.describe("smtp: the relay's host name."),
    port: z.number().int().min(1).max(65535).default(587).describe("smtp: 587 (submission, STARTTLS) or 465 (implicit TLS)."),
    tls: z
        .enum(["starttls", "tls"], { error: invalid("an SMTP TLS mode (starttls, tls)") })
        .default("starttls")
        .describe("smtp: starttls upgrades a plain connection (587); tls is TLS from the first byte (465)."),
    domain: domainName.optional().describe("smtp: the HELO domain.").meta({ computedDefault: "<gitlab.hostName>" }),
    userName: z.string().min(1).describe("smtp: the user name GitLab logs in to the relay with."),
    passwordSecretArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, { error: invalid("a Secrets Manager secret ARN") })
        .describe("smtp: a Secrets Manager secret whose whole value is the SMTP password (created outside this program)."),
    authentication: z
        .enum(["login", "plain"], { error: invalid("an SMTP authentication (login, plain)") })
        .default("login")
        .describe("smtp: the SMTP authentication method."),
}).describe("smtp: another relay; its password is the whole value of an existing Secrets Manager secret.");

const noneSchema = z.strictObject({ provider: z.literal("none").describe(PROVIDER) }).describe("none: GitLab's outgoing mail off.");

export const emailSchema = z
    .discriminatedUnion("provider", [sesSchema, smtpSchema, noneSchema], {
        // Zod reports the whole object at `provider`: name the provider alone.
        error: (iss) => `${JSON.stringify((iss.input as { provider?: unknown } | undefined)?.provider)} is not an e-mail provider (ses, smtp, none)`,
    })
    .prefault({ provider: "ses" })
    .describe("Outgoing mail (notifications, password resets, confirmations): ses (the default), smtp (another relay) or none (docs/decisions/gitlab-email.md).");

type EmailInput = z.output<typeof emailSchema>;

/** The section's e-mail with its addresses filled in from GitLab's host name. */
export type EmailConfig =
    | (Extract<EmailInput, { provider: "ses" }> & { from: string; replyTo: string })
    | (Extract<EmailInput, { provider: "smtp" }> & { from: string; replyTo: string; domain: string })
    | Extract<EmailInput, { provider: "none" }>;

/** Defaults that follow gitlab.hostName (written once, here). */
export function emailDefaults(e: EmailInput, hostName: string): EmailConfig {
    if (e.provider === "none") {
        return e;
    }
    const addresses = { from: e.from ?? `gitlab@${hostName}`, replyTo: e.replyTo ?? `noreply@${hostName}` };
    return e.provider === "ses" ? { ...e, ...addresses } : { ...e, ...addresses, domain: e.domain ?? hostName };
}

/** SES sends only as the verified domain (dns.zoneName) or its subdomains. */
export function emailRules(c: { dns: { zoneName: string }; gitlab?: { email?: EmailConfig } }, ctx: z.RefinementCtx): void {
    const e = c.gitlab?.email;
    const zone = c.dns?.zoneName;
    if (e?.provider !== "ses" || typeof zone !== "string" || typeof e.from !== "string") {
        return;
    }
    const domain = e.from.split("@").pop() ?? "";
    if (domain !== zone && !domain.endsWith(`.${zone}`)) {
        ctx.addIssue({ code: "custom", path: ["gitlab", "email", "from"], message: `${e.from} is not inside dns.zoneName ${zone}, the domain SES verifies` });
    }
}
