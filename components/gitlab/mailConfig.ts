import { s, secret, Setting } from "./gitlabRb";
import { MailSettings, OmnibusRole } from "./types";

/** gitlab.rb's mail block (rendered by omnibusConfig.ts for the roles below). */

/**
 * The roles that send mail: web (password resets, confirmations), Sidekiq
 * (every notification) and the single task that is both. migrate and backup
 * send none, so they get neither the block nor its secrets.
 */
export const MAIL_ROLES: readonly OmnibusRole[] = ["single", "web", "sidekiq"];

/**
 * Outgoing mail over SMTP (the image has no sendmail), or mail off. STARTTLS
 * on the submission port, or TLS from the first byte (`smtp_tls`, port 465);
 * never both. The password, and SES's user name (the access key id), come
 * from Secrets Manager.
 */
export function mail(role: OmnibusRole, settings: MailSettings | undefined): Setting[] {
    if (!settings || !MAIL_ROLES.includes(role)) {
        return [];
    }
    const { sender, smtp } = settings;
    if (!smtp || !sender) {
        return [s(["gitlab_rails", "gitlab_email_enabled"], false)];
    }
    return [
        s(["gitlab_rails", "gitlab_email_enabled"], true),
        s(["gitlab_rails", "gitlab_email_from"], sender.from),
        s(["gitlab_rails", "gitlab_email_reply_to"], sender.replyTo),
        s(["gitlab_rails", "gitlab_email_display_name"], sender.displayName),
        s(["gitlab_rails", "smtp_enable"], true),
        s(["gitlab_rails", "smtp_address"], smtp.address),
        s(["gitlab_rails", "smtp_port"], smtp.port),
        s(["gitlab_rails", "smtp_user_name"], smtp.userName ?? secret("smtpUserName")),
        s(["gitlab_rails", "smtp_password"], secret("smtpPassword")),
        s(["gitlab_rails", "smtp_domain"], smtp.domain),
        s(["gitlab_rails", "smtp_authentication"], smtp.authentication),
        s(["gitlab_rails", "smtp_enable_starttls_auto"], smtp.tls === "starttls"),
        s(["gitlab_rails", "smtp_tls"], smtp.tls === "tls"),
    ];
}
