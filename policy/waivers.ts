import { Control, CONTROLS } from "./controls";
import { Finding, StackView } from "./model";

/**
 * Every exception to a control, in one place, each with its reason. A finding
 * a waiver matches is reported as waived, never as a violation; a waiver that
 * matches nothing fails the tests (a stale exception is a hole).
 */
export interface Waiver {
    readonly control: string;
    /**
     * The stacks it applies to, by what they are, never by name (a new stack
     * copied from dev or prod gets the same exceptions): every stack, or only
     * those whose data is not protected (`stateful.protect: false`).
     */
    readonly stacks: "all" | "unprotected";
    readonly type: string;
    /** Resource names (logical, as in the program). */
    readonly names: RegExp;
    /** Only findings whose message matches (default: any). */
    readonly message?: RegExp;
    readonly reason: string;
}

export const WAIVERS: readonly Waiver[] = [
    {
        control: "ECS.4",
        stacks: "all",
        type: "aws:ecs/taskDefinition:TaskDefinition",
        names: /^runner(-deploy)?$/,
        message: /starts privileged job containers/,
        reason:
            "The runner manager is unprivileged; the jobs it starts on its own EC2 workers run privileged so docker:dind can build images. The workers are single-purpose, IMDSv2-only and reachable only from their own fleet's manager on 22 (docs/decisions/runner.md).",
    },
    {
        control: "ECS.5",
        stacks: "all",
        type: "aws:ecs/taskDefinition:TaskDefinition",
        names: /^gitlab(-web|-sidekiq|-gitaly|-migrate|-backup)?$/,
        // Omnibus's own containers only: a sidecar added beside them is checked.
        message: /^container (gitlab|web|sidekiq|gitaly|migrate|backup) has/,
        reason:
            "Omnibus GitLab renders its configuration and keeps runit state, sockets and logs under /etc/gitlab, /opt/gitlab and /var at start: it cannot run on a read-only root.",
    },
    {
        control: "ECS.5",
        stacks: "all",
        type: "aws:ecs/taskDefinition:TaskDefinition",
        names: /^runner(-deploy)?$/,
        reason: "gitlab-runner writes its config directory (config.toml, rendered at start with the token expanded).",
    },
    {
        control: "S3.12",
        stacks: "all",
        type: "aws:s3/bucket:Bucket",
        names: /^gitlab-(artifacts|external-diffs|lfs|uploads|packages|dependency-proxy|terraform-state|ci-secure-files|agent-plan-content|pages|registry)$/,
        reason:
            "CarrierWave (GitLab's uploads) and the registry's S3 driver send `x-amz-acl: private`, which a bucket with ACLs disabled refuses. BucketOwnerPreferred keeps every object owned by this account; public access stays blocked (S3.8). The backups bucket has ACLs off.",
    },
    {
        control: "EC2.18",
        stacks: "all",
        type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        names: /^gitlab-ssh-nlb-in-\d+$/,
        message: /on 22$/,
        reason: "GitLab's documented SSH listener (git over SSH) on the network load balancer; the tasks behind it admit only the load balancer.",
    },
    {
        control: "EC2.19",
        stacks: "all",
        type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        names: /^gitlab-ssh-nlb-in-\d+$/,
        message: /port\(s\) 22 open/,
        reason: "As EC2.18: git over SSH is the service on that port; GitLab's sshd takes keys only.",
    },
    {
        control: "SecretsManager.1",
        stacks: "all",
        type: "aws:secretsmanager/secret:Secret",
        names: /^(app-secret-key|gitlab-rails|gitlab-tokens|gitlab-registry|gitlab-ssh-host-keys)$/,
        reason:
            "Signing and encryption keys long-running processes read at start: Django's SECRET_KEY and GitLab's secrets (a rotation would end sessions or make stored data unreadable) and the SSH host keys (clients pin them). Rotated deliberately: `pulumi up --replace` on the generator, then a redeploy (docs/decisions/gitlab.md).",
    },
    {
        control: "SecretsManager.1",
        stacks: "all",
        type: "aws:secretsmanager/secret:Secret",
        names: /^gitlab-db-credentials$/,
        reason: "GitLab logs in to its database with this password and cannot take an RDS IAM token; a rotation under it would stop GitLab until the next deploy. Rotated with `pulumi up --replace` on the generator and a redeploy.",
    },
    {
        control: "SecretsManager.1",
        stacks: "all",
        type: "aws:secretsmanager/secret:Secret",
        names: /^gitlab-registry-database$/,
        reason: "The container registry logs in to its metadata database with this password, read at start; the migration task sets it on the role, so a rotation is `pulumi up --replace` on the generator and a redeploy (docs/decisions/gitlab.md), not a Lambda under running tasks.",
    },
    {
        control: "SecretsManager.1",
        stacks: "all",
        type: "aws:secretsmanager/secret:Secret",
        names: /^gitlab-root$/,
        reason: "The first administrator's password, read only when an empty database is seeded; afterwards the account's password lives in GitLab (changed there, or reset with gitlab-rake), not in this secret.",
    },
    {
        control: "SecretsManager.1",
        stacks: "all",
        type: "aws:secretsmanager/secret:Secret",
        names: /^app-admin$/,
        reason: "The app's first superuser's password, used only to create that user when it does not exist (the migrate step's ensure_admin); afterwards the password lives in the app (changed in its admin), not in this secret.",
    },
    {
        control: "SecretsManager.1",
        stacks: "all",
        type: "aws:secretsmanager/secret:Secret",
        names: /^(gitlab-redis-auth|runner-token|runner-deploy-token)$/,
        reason: "Read at start by GitLab (the ElastiCache auth token) and by the runner managers (their tokens, rotated in GitLab with tools/runnerToken.ts): a rotation takes a redeploy, not a Lambda.",
    },
    {
        control: "SecretsManager.1",
        stacks: "all",
        type: "aws:secretsmanager/secret:Secret",
        names: /^app-db-credentials$/,
        reason: "Only a stack deployed before rotation, at step 1 of handing its master password to RDS (masterPasswordRotationDays: 0), has this secret; after step 2 it is gone and RDS rotates its own (docs/decisions/app-service.md).",
    },
    {
        control: "SecretsManager.1",
        stacks: "all",
        type: "aws:secretsmanager/secret:Secret",
        names: /^runner-docker-hub$/,
        reason: "A Docker Hub access token, made and revoked in Docker Hub by an administrator, who stores the new one here (docs/decisions/runner.md); AWS has no rotation function for another service's tokens.",
    },
    {
        control: "SecretsManager.1",
        stacks: "all",
        type: "aws:secretsmanager/secret:Secret",
        names: /^gitlab-smtp$/,
        reason: "SES SMTP credentials: the password is derived from the IAM access key that generates it, so a rotation is a new key (`pulumi up --replace` on the gitlab-smtp access key) and a redeploy of the mail roles, not a Lambda (docs/decisions/gitlab-email.md).",
    },
    {
        control: "S3.9",
        stacks: "all",
        type: "aws:s3/bucket:Bucket",
        names: /^public-access-logs$/,
        reason: "The bucket the access logs go to: logging it into itself would log its own log deliveries, and another bucket would need one in turn. Its writes come from the log delivery services only (bucket policy).",
    },
    {
        control: "RDS.11",
        stacks: "unprotected",
        type: "aws:rds/instance:Instance",
        names: /^(app|gitlab)-db$/,
        reason: "An unprotected stack (dev) keeps 1 day of backups on purpose: its data is disposable and it is rebuilt from scratch (prod keeps 14 and 35 days).",
    },
];

export interface Verdict {
    readonly violations: readonly Finding[];
    readonly waived: readonly (Finding & { readonly reason: string })[];
}

export function waiverFor(f: Finding, view: Pick<StackView, "protected">): Waiver | undefined {
    return WAIVERS.find(
        (w) => w.control === f.control && (w.stacks === "all" || !view.protected) && w.type === f.type && w.names.test(f.name) && (!w.message || w.message.test(f.message)),
    );
}

/** Controls over one stack, waivers applied; the protected-stack controls skipped in the others. */
export function evaluate(view: StackView, controls: readonly Control[] = CONTROLS): Verdict {
    const findings = controls.filter((c) => !c.protectedOnly || view.protected).flatMap((c) => c.check(view));
    const violations: Finding[] = [];
    const waived: (Finding & { reason: string })[] = [];
    for (const f of findings) {
        const w = waiverFor(f, view);
        if (w) {
            waived.push({ ...f, reason: w.reason });
        } else {
            violations.push(f);
        }
    }
    return { violations, waived };
}
