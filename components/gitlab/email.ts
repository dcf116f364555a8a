import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SecretSource } from "../../aws/ecsTask";
import { jsonSecret } from "../../aws/secrets";
import { StackContext } from "../../aws/context";
import { MAIL_ROLES } from "./mailConfig";
import { ExternalSecret, GitLabEmail, MailSettings, OmnibusRole, SecretName } from "./types";

/** SES's SMTP interface: STARTTLS on the submission port (SES also takes 25, 2587 and 465 with TLS). */
export const SES_SMTP_PORT = 587;

/** Easy DKIM publishes three CNAMEs per identity (SES: "Easy DKIM"). */
export const SES_DKIM_TOKENS = 3;

/** What the GitLab component gets back: where the mail secrets come from, and what gitlab.rb says. */
export interface GitLabMail {
    readonly sources: Partial<Record<ExternalSecret, SecretSource>>;
    readonly settings: MailSettings;
    /** The secrets a role's config reads (MAIL_ROLES only). */
    readonly secretsOf: (role: OmnibusRole) => SecretName[];
}

/**
 * GitLab's outgoing mail. ses: a domain identity for the stack's zone, its
 * DKIM records in the zone, and SMTP credentials of an IAM user that may only
 * send as GitLab's From address (docs/decisions/gitlab-email.md). smtp: another relay, its
 * password from an existing secret. none: mail off.
 */
export function gitlabMail(name: string, context: StackContext, email: GitLabEmail, hostName: string, opts: pulumi.CustomResourceOptions): GitLabMail {
    if (email.provider === "none") {
        return { sources: {}, settings: {}, secretsOf: () => [] };
    }
    const sender = { from: email.from, replyTo: email.replyTo, displayName: email.displayName };
    const names: SecretName[] = email.provider === "ses" ? ["smtpUserName", "smtpPassword"] : ["smtpPassword"];
    const secretsOf = (role: OmnibusRole) => (MAIL_ROLES.includes(role) ? names : []);
    if (email.provider === "smtp") {
        const { address, port, tls, domain, authentication, userName } = email;
        return { sources: { smtpPassword: { arn: email.passwordSecretArn } }, settings: { sender, smtp: { address, port, tls, domain, authentication, userName } }, secretsOf };
    }
    const arn = sesSender(name, context, email, opts);
    return {
        sources: { smtpUserName: { arn, key: "username" }, smtpPassword: { arn, key: "password" } },
        settings: {
            sender,
            smtp: { address: `email-smtp.${context.region}.amazonaws.com`, port: SES_SMTP_PORT, tls: "starttls", domain: hostName, authentication: "login" },
        },
        secretsOf,
    };
}

/** The SES identity with its DKIM records, and the SMTP user's credentials in Secrets Manager (their ARN). */
function sesSender(name: string, context: StackContext, email: Extract<GitLabEmail, { provider: "ses" }>, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    // The identity is verified once its DKIM CNAMEs resolve; its DKIM keys are 2048-bit.
    const identity = new aws.sesv2.EmailIdentity(`${name}-mail`, { emailIdentity: email.domain, dkimSigningAttributes: { nextSigningKeyLength: "RSA_2048_BIT" } }, opts);
    const tokens = identity.dkimSigningAttributes.apply((d) => d?.tokens ?? []);
    for (let i = 0; i < SES_DKIM_TOKENS; i++) {
        const token = tokens.apply((t) => t[i]);
        new aws.route53.Record(
            `${name}-mail-dkim-${i}`,
            { zoneId: email.zoneId, name: pulumi.interpolate`${token}._domainkey.${email.domain}`, type: "CNAME", ttl: 1800, records: [pulumi.interpolate`${token}.dkim.amazonses.com`] },
            opts,
        );
    }

    // SMTP to SES takes an IAM user's access key (no role can log in over SMTP): a
    // long-lived credential, rotated by replacing the key (docs/decisions/gitlab-email.md).
    const user = new aws.iam.User(`${name}-smtp`, { name: `${context.naming.prefix}-${name}-smtp`, path: context.naming.iamPath }, opts);
    new aws.iam.UserPolicy(
        `${name}-smtp`,
        {
            user: user.name,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "SendAsGitLab",
                        Effect: "Allow",
                        // What SES's SMTP interface authorizes a message as (SES: "SMTP credentials"; its
                        // own SMTP users get this action alone): no ses:SendEmail, which only the API calls.
                        // No ses:ApiVersion condition: SES documents none for SMTP submissions, and a
                        // wrong guess there would refuse every mail.
                        Action: "ses:SendRawEmail",
                        // The domain identity GitLab sends as; no configuration set is used.
                        Resource: identity.arn,
                        Condition: {
                            StringEquals: {
                                // Only as GitLab's own From address (the bare address, compared case-sensitively,
                                // as GitLab writes it): a leaked key cannot send as anyone else of the domain. Not
                                // the display name: GitLab names the acting user in notifications.
                                "ses:FromAddress": email.from,
                            },
                        },
                    },
                ],
            }),
        },
        opts,
    );
    // The key generates the secret's value: kept (protected) with it.
    const key = new aws.iam.AccessKey(`${name}-smtp`, { user: user.name }, { ...opts, protect: context.protect });
    return jsonSecret(
        `${name}-smtp`,
        {
            description: "GitLab: SES SMTP credentials (an IAM access key id and its SigV4 SMTP password)",
            protect: context.protect,
            naming: context.naming,
            value: { username: key.id, password: key.sesSmtpPasswordV4 },
        },
        opts,
    );
}
