import { attached, containers, document, Finding, ofType, StackView, Subject } from "./model";

/**
 * The AWS Security Hub Foundational Security Best Practices controls this
 * program is held to, one pure check each (plus WAF and log retention, which
 * have no FSBP number). A check returns its findings; waivers (waivers.ts)
 * and enforcement (index.ts) come after.
 */
export interface Control {
    /** The Security Hub control id, e.g. "ECS.2" (or a name of ours where FSBP has none). */
    readonly id: string;
    /** The CrossGuard policy name: the id, lower-case, plus what it asks. */
    readonly policy: string;
    readonly title: string;
    /** The resource types it reads (a stack without any has nothing to check). */
    readonly types: readonly string[];
    /**
     * Reads other resources (a bucket's policy, a repository's lifecycle): a stack
     * policy. The others read one resource's own inputs: a resource policy, which
     * CrossGuard runs on each resource before it is created or changed.
     */
    readonly relational?: boolean;
    /**
     * Checked in protected stacks only (prod and any stack like it; a dev-like
     * stack is single-AZ, disposable and cheap on purpose). Whether a stack is
     * protected shows on its stateful resources, so the pack runs these as
     * stack policies.
     */
    readonly protectedOnly?: boolean;
    readonly check: (view: StackView) => Finding[];
}

const T = {
    service: "aws:ecs/service:Service",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    cluster: "aws:ecs/cluster:Cluster",
    repo: "aws:ecr/repository:Repository",
    lifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    lb: "aws:lb/loadBalancer:LoadBalancer",
    listener: "aws:lb/listener:Listener",
    listenerRule: "aws:lb/listenerRule:ListenerRule",
    db: "aws:rds/instance:Instance",
    fs: "aws:efs/fileSystem:FileSystem",
    accessPoint: "aws:efs/accessPoint:AccessPoint",
    backupSelection: "aws:backup/selection:Selection",
    bucket: "aws:s3/bucket:Bucket",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    logging: "aws:s3/bucketLogging:BucketLogging",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    defaultSg: "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    vpc: "awsx:ec2:Vpc",
    flowLog: "aws:ec2/flowLog:FlowLog",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    policy: "aws:iam/policy:Policy",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    topic: "aws:sns/topic:Topic",
    secret: "aws:secretsmanager/secret:Secret",
    rotation: "aws:secretsmanager/secretRotation:SecretRotation",
    wafAssociation: "aws:wafv2/webAclAssociation:WebAclAssociation",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
} as const;

/** Every shape an ingress rule can take: a rule resource (new or old style) or inline on the group. */
const INGRESS_TYPES = ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:ec2/securityGroup:SecurityGroup"];

/** The rules of `r` open to the whole internet (0.0.0.0/0 or ::/0), as protocol and port range. */
function worldIngress(r: Subject): { protocol: string; from: number; to: number }[] {
    const isWorld = (v4: unknown, v6: unknown) => [v4].flat().includes("0.0.0.0/0") || [v6].flat().includes("::/0");
    const p = r.props;
    switch (r.type) {
        case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            return isWorld(p.cidrIpv4, p.cidrIpv6) ? [{ protocol: String(p.ipProtocol), from: Number(p.fromPort), to: Number(p.toPort) }] : [];
        case "aws:ec2/securityGroupRule:SecurityGroupRule":
            return p.type === "ingress" && isWorld(p.cidrBlocks ?? [], p.ipv6CidrBlocks ?? []) ? [{ protocol: String(p.protocol), from: Number(p.fromPort), to: Number(p.toPort) }] : [];
        default:
            return (p.ingress ?? []).filter((x: any) => isWorld(x.cidrBlocks ?? [], x.ipv6CidrBlocks ?? [])).map((x: any) => ({ protocol: String(x.protocol), from: Number(x.fromPort), to: Number(x.toPort) }));
    }
}

/** Security Hub's EC2.19 high-risk ports (TCP). */
const HIGH_RISK_PORTS = [20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300];
/** World ingress EC2.18 authorises: HTTP and HTTPS. (GitLab's SSH listener is a waiver, with its reason.) */
const WORLD_PORTS = [80, 443];
/** AWS's ECS.8 keys, plus names that say "secret" (but not a secret's ARN, file, name, path or id). */
const SECRET_ENV = /^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|ECS_ENGINE_AUTH_DATA)$|^(?!.*_(ARN|FILE|NAME|PATH|ID)$).*(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY)/;

const finding = (control: string, r: Subject, message: string): Finding => ({ control, type: r.type, name: r.name, urn: r.urn, message });

/** A per-resource check: the message of what is wrong, or nothing. */
function each(id: string, types: readonly string[], test: (r: Subject, view: StackView) => string | string[] | undefined) {
    return (view: StackView): Finding[] =>
        ofType(view, ...types).flatMap((r) => [test(r, view) ?? []].flat().map((m) => finding(id, r, m)));
}

const albs = (view: StackView) => ofType(view, T.lb).filter((lb) => (lb.props.loadBalancerType ?? "application") === "application");

function allowStatements(text: unknown): any[] {
    return (document(text)?.Statement ?? []).filter((s) => s.Effect === "Allow");
}

/** Managed and inline role policies, and a role's own inline policies (not its trust policy). Also checked beyond Security Hub, which reads managed ones only. */
const IAM_TYPES = ["aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/role:Role"];
const allowsOf = (p: Subject): any[] => (p.type === "aws:iam/role:Role" ? (p.props.inlinePolicies ?? []).flatMap((x: any) => allowStatements(x.policy)) : allowStatements(p.props.policy));

export const CONTROLS: readonly Control[] = [
    {
        id: "ECS.2",
        policy: "ecs-2-no-public-ip",
        title: "ECS services should not have public IP addresses assigned automatically",
        types: [T.service],
        check: each("ECS.2", [T.service], (s) => (s.props.networkConfiguration?.assignPublicIp === true ? "assignPublicIp is true" : undefined)),
    },
    {
        id: "ECS.4",
        policy: "ecs-4-no-privileged-containers",
        title: "ECS containers should run as non-privileged",
        types: [T.taskDef],
        check: each("ECS.4", [T.taskDef], (td) =>
            (containers(td) ?? []).flatMap((c) => [
                ...(c.privileged === true ? [`container ${c.name} is privileged`] : []),
                // The runner starts job containers itself: privileged ones (dind) on its workers.
                ...(c.environment ?? []).filter((e: any) => /privileged\s*=\s*true/.test(String(e.value))).map((e: any) => `container ${c.name} starts privileged job containers (${e.name}: privileged = true)`),
            ]),
        ),
    },
    {
        id: "ECS.5",
        policy: "ecs-5-read-only-root",
        title: "ECS containers should be limited to read-only access to root filesystems",
        types: [T.taskDef],
        check: each("ECS.5", [T.taskDef], (td) => (containers(td) ?? []).filter((c) => c.readonlyRootFilesystem !== true).map((c) => `container ${c.name} has a writable root filesystem`)),
    },
    {
        id: "ECS.8",
        policy: "ecs-8-no-secrets-in-environment",
        title: "Secrets should not be passed as container environment variables",
        types: [T.taskDef],
        check: each("ECS.8", [T.taskDef], (td) =>
            (containers(td) ?? []).flatMap((c) => (c.environment ?? []).filter((e: any) => SECRET_ENV.test(e.name)).map((e: any) => `container ${c.name}: ${e.name} is an environment value, not an ECS secret`)),
        ),
    },
    {
        id: "ECS.9",
        policy: "ecs-9-logging",
        title: "ECS task definitions should have a logging configuration",
        types: [T.taskDef],
        check: each("ECS.9", [T.taskDef], (td) => (containers(td) ?? []).filter((c) => !c.logConfiguration?.logDriver).map((c) => `container ${c.name} has no log configuration`)),
    },
    {
        id: "ECS.12",
        policy: "ecs-12-container-insights",
        title: "ECS clusters should use Container Insights",
        types: [T.cluster],
        check: each("ECS.12", [T.cluster], (c) =>
            (c.props.settings ?? []).some((s: any) => s.name === "containerInsights" && ["enabled", "enhanced"].includes(s.value)) ? undefined : "Container Insights is off",
        ),
    },
    {
        id: "ECR.1",
        policy: "ecr-1-scan-on-push",
        title: "ECR private repositories should have image scanning configured",
        types: [T.repo],
        check: each("ECR.1", [T.repo], (r) => (r.props.imageScanningConfiguration?.scanOnPush === true ? undefined : "scan on push is off")),
    },
    {
        id: "ECR.2",
        policy: "ecr-2-immutable-tags",
        title: "ECR private repositories should have tag immutability configured",
        types: [T.repo],
        check: each("ECR.2", [T.repo], (r) => (r.props.imageTagMutability === "IMMUTABLE" ? undefined : `tags are ${r.props.imageTagMutability ?? "MUTABLE"}`)),
    },
    {
        id: "ECR.3",
        relational: true,
        policy: "ecr-3-lifecycle-policy",
        title: "ECR repositories should have at least one lifecycle policy configured",
        types: [T.repo],
        check: each("ECR.3", [T.repo], (r, view) => (attached(view, r, T.lifecycle, "repository").length > 0 ? undefined : "no lifecycle policy")),
    },
    {
        id: "ELB.1",
        policy: "elb-1-http-redirects-to-https",
        title: "Application Load Balancer should be configured to redirect all HTTP requests to HTTPS",
        relational: true,
        types: [T.listener, T.listenerRule],
        // The listener's default action and every rule on it: a rule forwarding plain HTTP defeats the redirect.
        check: (view) => {
            const toHttps = (actions: any[] | undefined) => (actions ?? []).every((a: any) => a.type === "redirect" && a.redirect?.protocol === "HTTPS");
            const http = ofType(view, T.listener).filter((l) => l.props.protocol === "HTTP");
            return [
                ...http.filter((l) => !toHttps(l.props.defaultActions)).map((l) => finding("ELB.1", l, "an HTTP listener that does not redirect to HTTPS")),
                ...ofType(view, T.listenerRule)
                    .filter((r) => http.some((l) => (r.propertyDependencies.listenerArn ?? []).includes(l.urn)) && !toHttps(r.props.actions))
                    .map((r) => finding("ELB.1", r, "a rule on the HTTP listener that does not redirect to HTTPS")),
            ];
        },
    },
    {
        id: "ELB.4",
        policy: "elb-4-drop-invalid-headers",
        title: "Application Load Balancer should be configured to drop invalid HTTP headers",
        types: [T.lb],
        check: (view) => albs(view).filter((lb) => lb.props.dropInvalidHeaderFields !== true).map((lb) => finding("ELB.4", lb, "dropInvalidHeaderFields is off")),
    },
    {
        id: "ELB.5",
        policy: "elb-5-access-logs",
        title: "Application Load Balancer logging should be enabled",
        types: [T.lb],
        check: (view) => albs(view).filter((lb) => lb.props.accessLogs?.enabled !== true || !lb.props.accessLogs?.bucket).map((lb) => finding("ELB.5", lb, "access logs are off")),
    },
    {
        id: "ELB.6",
        policy: "elb-6-deletion-protection",
        title: "Application, Gateway, and Network Load Balancers should have deletion protection enabled",
        protectedOnly: true,
        types: [T.lb],
        check: each("ELB.6", [T.lb], (lb) => (lb.props.enableDeletionProtection === true ? undefined : "deletion protection is off")),
    },
    {
        id: "ELB.12",
        policy: "elb-12-desync-mitigation",
        title: "Application Load Balancer should be configured with defensive or strictest desync mitigation mode",
        types: [T.lb],
        check: (view) =>
            albs(view)
                .filter((lb) => !["defensive", "strictest"].includes(lb.props.desyncMitigationMode ?? "defensive"))
                .map((lb) => finding("ELB.12", lb, `desync mitigation is ${lb.props.desyncMitigationMode}`)),
    },
    {
        id: "WAF.ALB",
        relational: true,
        policy: "waf-on-public-load-balancer",
        title: "An internet-facing Application Load Balancer should have a WAF web ACL associated",
        protectedOnly: true,
        types: [T.lb],
        check: (view) =>
            albs(view)
                .filter((lb) => lb.props.internal !== true && attached(view, lb, T.wafAssociation, "resourceArn").length === 0)
                .map((lb) => finding("WAF.ALB", lb, "no WAF web ACL associated")),
    },
    {
        id: "RDS.2",
        policy: "rds-2-not-public",
        title: "RDS DB instances should prohibit public access",
        types: [T.db],
        check: each("RDS.2", [T.db], (d) => (d.props.publiclyAccessible === true ? "publicly accessible" : undefined)),
    },
    {
        id: "RDS.3",
        policy: "rds-3-encrypted",
        title: "RDS DB instances should have encryption at-rest enabled",
        types: [T.db],
        check: each("RDS.3", [T.db], (d) => (d.props.storageEncrypted === true ? undefined : "storage is not encrypted")),
    },
    {
        id: "RDS.5",
        policy: "rds-5-multi-az",
        title: "RDS DB instances should be configured with multiple Availability Zones",
        protectedOnly: true,
        types: [T.db],
        check: each("RDS.5", [T.db], (d) => (d.props.multiAz === true ? undefined : "single-AZ")),
    },
    {
        id: "RDS.6",
        policy: "rds-6-enhanced-monitoring",
        title: "Enhanced monitoring should be configured for RDS DB instances",
        protectedOnly: true,
        types: [T.db],
        check: each("RDS.6", [T.db], (d) => ((d.props.monitoringInterval ?? 0) > 0 ? undefined : "Enhanced Monitoring is off")),
    },
    {
        id: "RDS.8",
        policy: "rds-8-deletion-protection",
        title: "RDS DB instances should have deletion protection enabled",
        protectedOnly: true,
        types: [T.db],
        check: each("RDS.8", [T.db], (d) => (d.props.deletionProtection === true ? undefined : "deletion protection is off")),
    },
    {
        id: "RDS.9",
        policy: "rds-9-logs-to-cloudwatch",
        title: "RDS DB instances should publish logs to CloudWatch Logs",
        types: [T.db],
        // Security Hub wants every log the engine has: for PostgreSQL, postgresql and upgrade.
        check: each("RDS.9", [T.db], (d) => {
            const missing = ["postgresql", "upgrade"].filter((l) => !(d.props.enabledCloudwatchLogsExports ?? []).includes(l));
            return missing.length > 0 ? `not exported: ${missing.join(", ")}` : undefined;
        }),
    },
    {
        id: "RDS.11",
        policy: "rds-11-automated-backups",
        title: "RDS instances should have automatic backups enabled (Security Hub's default: at least 7 days)",
        types: [T.db],
        check: each("RDS.11", [T.db], (d) => ((d.props.backupRetentionPeriod ?? 0) >= 7 ? undefined : `backups kept ${d.props.backupRetentionPeriod ?? 0} days`)),
    },
    {
        id: "RDS.13",
        policy: "rds-13-auto-minor-upgrades",
        title: "RDS automatic minor version upgrades should be enabled",
        types: [T.db],
        check: each("RDS.13", [T.db], (d) => (d.props.autoMinorVersionUpgrade === false ? "automatic minor upgrades are off" : undefined)),
    },
    {
        id: "EFS.1",
        policy: "efs-1-encrypted",
        title: "EFS should be configured to encrypt file data at-rest using AWS KMS",
        types: [T.fs],
        check: each("EFS.1", [T.fs], (f) => (f.props.encrypted === true ? undefined : "not encrypted")),
    },
    {
        id: "EFS.2",
        relational: true,
        policy: "efs-2-in-backup-plan",
        title: "EFS volumes should be in backup plans",
        types: [T.fs],
        check: each("EFS.2", [T.fs], (f, view) => (attached(view, f, T.backupSelection, "resources").length > 0 ? undefined : "in no backup selection")),
    },
    {
        id: "EFS.3",
        policy: "efs-3-access-point-root-directory",
        title: "EFS access points should enforce a root directory",
        types: [T.accessPoint],
        check: each("EFS.3", [T.accessPoint], (ap) => ((ap.props.rootDirectory?.path ?? "/") === "/" ? "the access point's root is the file system's root" : undefined)),
    },
    {
        id: "S3.5",
        relational: true,
        policy: "s3-5-tls-only",
        title: "S3 general purpose buckets should require requests to use SSL",
        types: [T.bucket],
        check: each("S3.5", [T.bucket], (b, view) => {
            const policies = attached(view, b, T.bucketPolicy, "bucket");
            if (policies.some((p) => p.props.policy === undefined)) {
                return undefined; // not known until the bucket exists (a preview)
            }
            const texts = policies.map((p) => document(p.props.policy));
            if (texts.some((d) => d === undefined)) {
                return "a bucket policy that is not valid JSON";
            }
            // Security Hub's shape: Deny, to everyone, every S3 action, on the bucket and its objects, without TLS.
            const denies = texts.flatMap((d) => d!.Statement).some((s) => {
                const everyone = s.Principal === "*" || s.Principal?.AWS === "*";
                const actions = [s.Action].flat();
                const resources = [s.Resource].flat().map(String);
                const insecure = String(s.Condition?.Bool?.["aws:SecureTransport"]) === "false";
                return s.Effect === "Deny" && everyone && (actions.includes("s3:*") || actions.includes("*")) && resources.some((r) => !r.endsWith("/*")) && resources.some((r) => r.endsWith("/*")) && insecure;
            });
            return denies ? undefined : "no bucket policy denies every request without TLS (Deny, Principal *, s3:*, bucket and objects, aws:SecureTransport false)";
        }),
    },
    {
        id: "S3.8",
        relational: true,
        policy: "s3-8-block-public-access",
        title: "S3 general purpose buckets should block public access",
        types: [T.bucket],
        check: each("S3.8", [T.bucket], (b, view) => {
            const block = attached(view, b, T.publicAccess, "bucket")[0]?.props;
            const all = block && ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].every((k) => block[k] === true);
            return all ? undefined : "public access is not fully blocked";
        }),
    },
    {
        id: "S3.9",
        relational: true,
        policy: "s3-9-access-logging",
        title: "S3 general purpose buckets should have server access logging enabled",
        types: [T.bucket],
        check: each("S3.9", [T.bucket], (b, view) => (attached(view, b, T.logging, "bucket").length > 0 ? undefined : "no server access logging")),
    },
    {
        id: "S3.12",
        relational: true,
        policy: "s3-12-no-acls",
        title: "ACLs should not be used to manage user access to S3 general purpose buckets",
        types: [T.bucket],
        check: each("S3.12", [T.bucket], (b, view) => {
            const rule = attached(view, b, T.ownership, "bucket")[0]?.props.rule?.objectOwnership;
            return rule === "BucketOwnerEnforced" ? undefined : `object ownership is ${rule ?? "unset"}: ACLs still apply`;
        }),
    },
    {
        id: "EC2.2",
        relational: true,
        policy: "ec2-2-default-security-group-closed",
        title: "VPC default security groups should not allow inbound or outbound traffic",
        types: [T.defaultSg, T.vpc],
        check: (view) => [
            ...ofType(view, T.defaultSg)
                .filter((g) => (g.props.ingress ?? []).length > 0 || (g.props.egress ?? []).length > 0)
                .map((g) => finding("EC2.2", g, "the default security group has rules")),
            ...ofType(view, T.vpc)
                .filter((v) => ofType(view, T.defaultSg).every((g) => !(g.propertyDependencies.vpcId ?? []).includes(v.urn)))
                .map((v) => finding("EC2.2", v, "the VPC's default security group is not managed (its default rules stay)")),
        ],
    },
    {
        id: "EC2.6",
        relational: true,
        policy: "ec2-6-vpc-flow-logs",
        title: "VPC flow logging should be enabled in all VPCs",
        protectedOnly: true,
        types: [T.vpc],
        check: (view) => ofType(view, T.vpc).filter((v) => attached(view, v, T.flowLog, "vpcId").length === 0).map((v) => finding("EC2.6", v, "no flow log")),
    },
    {
        id: "EC2.18",
        policy: "ec2-18-world-ingress-only-http-https",
        title: "Security groups should only allow unrestricted incoming traffic for authorized ports (80, 443)",
        types: INGRESS_TYPES,
        check: each("EC2.18", INGRESS_TYPES, (r) =>
            worldIngress(r)
                .filter((x) => !(x.protocol === "tcp" && x.from === x.to && WORLD_PORTS.includes(x.from)))
                .map((x) => `open to the internet on ${x.protocol === "-1" || x.protocol === "all" ? "all ports" : x.from === x.to ? String(x.from) : `${x.from}-${x.to}`}`),
        ),
    },
    {
        id: "EC2.19",
        policy: "ec2-19-no-world-high-risk-ports",
        title: "Security groups should not allow unrestricted access to ports with high risk",
        types: INGRESS_TYPES,
        check: each("EC2.19", INGRESS_TYPES, (r) =>
            worldIngress(r).flatMap((x) => {
                const risky = HIGH_RISK_PORTS.filter((p) => x.protocol === "-1" || x.protocol === "all" || (x.from <= p && p <= x.to));
                return risky.length > 0 ? [`high-risk port(s) ${risky.join(", ")} open to the internet`] : [];
            }),
        ),
    },
    {
        id: "IAM.1",
        policy: "iam-1-no-full-admin",
        title: 'IAM policies should not allow full "*" administrative privileges',
        types: IAM_TYPES,
        check: each("IAM.1", IAM_TYPES, (p) =>
            allowsOf(p).some((s) => ([s.Action].flat().includes("*") || s.NotAction !== undefined) && [s.Resource].flat().includes("*")) ? 'allows "*" (or everything but a NotAction) on "*"' : undefined,
        ),
    },
    {
        id: "IAM.21",
        policy: "iam-21-no-service-wildcards",
        title: "IAM customer managed policies should not allow wildcard actions for services",
        types: IAM_TYPES,
        check: each("IAM.21", IAM_TYPES, (p) => {
            const wild = allowsOf(p).flatMap((s) => [s.Action ?? []].flat()).filter((a: string) => a === "*" || /:\*$/.test(a));
            const notAction = allowsOf(p).some((s) => s.NotAction !== undefined);
            return wild.length > 0 || notAction ? `wildcard actions: ${[...new Set(wild)].join(", ")}${notAction ? " (and an Allow with NotAction)" : ""}` : undefined;
        }),
    },
    {
        id: "SNS.1",
        policy: "sns-1-encrypted",
        title: "SNS topics should be encrypted at-rest using AWS KMS",
        types: [T.topic],
        check: each("SNS.1", [T.topic], (t) => (t.props.kmsMasterKeyId ? undefined : "not encrypted with KMS")),
    },
    {
        id: "SecretsManager.1",
        relational: true,
        policy: "secretsmanager-1-rotation",
        title: "Secrets Manager secrets should have automatic rotation enabled",
        types: [T.secret],
        check: each("SecretsManager.1", [T.secret], (s, view) => (attached(view, s, T.rotation, "secretId").length > 0 ? undefined : "no automatic rotation")),
    },
    {
        id: "Logs.Retention",
        policy: "cloudwatch-log-retention",
        title: "CloudWatch log groups should have a retention period",
        types: [T.logGroup],
        check: each("Logs.Retention", [T.logGroup], (g) => ((g.props.retentionInDays ?? 0) > 0 ? undefined : "kept forever (no retention)")),
    },
];
