import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { contextDigest } from "./dockerContext";

/**
 * Computed outputs per resource type. Echoing inputs alone would leave
 * provider-computed values (arn, repositoryUrl, repoDigest, ...) undefined, and
 * every downstream `apply` would silently see `undefined`.
 */

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");
const short = (s: string): string => sha256(s).slice(0, 12);

function arn(service: string, resource: string): string {
    return `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
}

/** The account's default EBS key in the mocked account (a key id of AWS's shape). */
export const DEFAULT_EBS_KEY_ARN = arn("kms", "key/0e0b5f1c-ebs0-4d3f-9a1e-defau1tebs00");

type Outputs = Record<string, unknown>;
type Computer = (name: string, inputs: Record<string, any>) => Outputs;

const computed: Record<string, Computer> = {
    "awsx:ec2:Vpc": (name, i) => {
        const azs = Number(i.numberOfAvailabilityZones ?? 2);
        const ids = (tier: string): string[] => Array.from({ length: azs }, (_, n) => `subnet-${tier}-${n + 1}`);
        return {
            vpcId: `vpc-${short(name)}`,
            publicSubnetIds: ids("public"),
            privateSubnetIds: ids("private"),
            isolatedSubnetIds: ids("isolated"),
            // One public table, one per private and isolated subnet, as awsx creates them.
            // One gateway in the first AZ (Single), or one per AZ (OnePerAz).
            natGateways: Array.from({ length: i.natGateways?.strategy === "OnePerAz" ? azs : 1 }, (_, n) => ({ id: `nat-${short(name).slice(0, 8)}${n + 1}` })),
            routeTables: [{ id: "rtb-public" }, ...ids("private").map((s) => ({ id: `rtb-${s}` })), ...ids("isolated").map((s) => ({ id: `rtb-${s}` }))],
        };
    },
    "aws:ecr/repository:Repository": (name, i) => ({
        arn: arn("ecr", `repository/${i.name ?? name}`),
        name: i.name ?? name,
        registryId: ACCOUNT,
        repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${i.name ?? name}`,
    }),
    // The account's private registry holds the rule.
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": () => ({ registryId: ACCOUNT }),
    // docker.Image: what the provider records (its Check adds the context's hash to
    // `build`), and the pushed image by digest, a function of the tag it was pushed as.
    "docker:index/image:Image": (_name, i) => {
        const repository = String(i.imageName).replace(/:[^:/]+$/, "");
        return {
            build: { ...i.build, contextDigest: contextDigest(i.build.context, i.build.dockerfile) },
            baseImageName: i.imageName,
            registryServer: i.registry?.server,
            platform: i.build?.platform,
            repoDigest: `${repository}@sha256:${sha256(String(i.imageName))}`,
        };
    },
    "aws:ec2/securityGroup:SecurityGroup": (name) => ({ arn: arn("ec2", `security-group/sg-${short(name)}`) }),
    "aws:cloudwatch/logGroup:LogGroup": (name, i) => {
        const logName = i.name ?? `${i.namePrefix ?? ""}${short(name)}`;
        return { name: logName, arn: arn("logs", `log-group:${logName}`) };
    },
    "aws:iam/role:Role": (name, i) => ({ name: i.name ?? name, arn: `arn:aws:iam::${ACCOUNT}:role${i.path ?? "/"}${i.name ?? name}` }),
    "aws:ecs/cluster:Cluster": (name, i) => ({ name: i.name ?? name, arn: arn("ecs", `cluster/${i.name ?? name}`) }),
    "aws:kms/key:Key": (name) => ({ arn: arn("kms", `key/${short(name)}`), keyId: short(name) }),
    "aws:wafv2/webAcl:WebAcl": (name, i) => ({ arn: arn("wafv2", `regional/webacl/${i.name ?? name}/${short(name)}`) }),
    "aws:lb/loadBalancer:LoadBalancer": (name, i) => {
        const network = i.loadBalancerType === "network";
        const suffix = `${network ? "net" : "app"}/${name}/${short(name).slice(0, 16)}`;
        return {
            arn: arn("elasticloadbalancing", `loadbalancer/${suffix}`),
            arnSuffix: suffix,
            dnsName: `${name}-123.${network ? "elb" : `${REGION}.elb`}.amazonaws.com`,
            // The canonical zones of ALBs and NLBs in us-east-1 differ.
            zoneId: network ? "Z26RNL4JYFTOTI" : "Z35SXDOTRQ7X7K",
        };
    },
    "aws:lb/targetGroup:TargetGroup": (name) => {
        const suffix = `targetgroup/${name}/${short(name).slice(0, 16)}`;
        return { arn: arn("elasticloadbalancing", suffix), arnSuffix: suffix };
    },
    // Real shapes: listener/app/<lb>/<lb-id>/<listener-id>, listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>.
    "aws:lb/listener:Listener": (name) => ({ arn: arn("elasticloadbalancing", `listener/app/public/${short("public").slice(0, 16)}/${short(name).slice(0, 16)}`) }),
    "aws:lb/listenerRule:ListenerRule": (name) => ({
        arn: arn("elasticloadbalancing", `listener-rule/app/public/${short("public").slice(0, 16)}/${short("public-https").slice(0, 16)}/${short(name).slice(0, 16)}`),
    }),
    "aws:acm/certificate:Certificate": (name, i) => ({
        arn: arn("acm", `certificate/${short(name)}`),
        domainValidationOptions: [i.domainName, ...(i.subjectAlternativeNames ?? [])].map((d: string) => ({
            domainName: d,
            resourceRecordName: `_${short(d)}.${d}.`,
            resourceRecordType: "CNAME",
            resourceRecordValue: `_${short(d)}.acm-validations.aws.`,
        })),
    }),
    "aws:acm/certificateValidation:CertificateValidation": (_name, i) => ({ certificateArn: i.certificateArn }),
    "aws:route53/record:Record": (_name, i) => ({ fqdn: String(i.name).replace(/\.$/, "") }),
    "aws:rds/instance:Instance": (name, i) => ({
        address: `${i.identifier ?? name}.abcdefghijkl.${REGION}.rds.amazonaws.com`,
        port: 5432,
        endpoint: `${i.identifier ?? name}.abcdefghijkl.${REGION}.rds.amazonaws.com:5432`,
        arn: arn("rds", `db:${i.identifier ?? name}`),
        resourceId: `db-${short(name).toUpperCase()}`,
        // RDS creates its own secret (named rds!db-<uuid>) only when it manages the password.
        masterUserSecrets: i.manageMasterUserPassword ? [{ secretArn: arn("secretsmanager", `secret:rds!db-${short(name)}-AbCdEf`), secretStatus: "active" }] : [],
    }),
    "aws:rds/subnetGroup:SubnetGroup": (name) => ({ name: `${name}-${short(name).slice(0, 7)}` }),
    "aws:rds/parameterGroup:ParameterGroup": (name) => ({ name: `${name}-${short(name).slice(0, 7)}` }),
    "aws:secretsmanager/secret:Secret": (name) => ({ arn: arn("secretsmanager", `secret:${name}-${short(name).slice(0, 6)}`) }),
    "random:index/randomPassword:RandomPassword": (name, i) => ({ result: `generated-${short(name)}`.padEnd(Number(i.length ?? 16), "x").slice(0, Number(i.length ?? 16)) }),
    "aws:s3/bucket:Bucket": (name, i) => {
        const bucket = i.bucket ?? `${name}-${short(name).slice(0, 7)}`;
        return { bucket, arn: `arn:aws:s3:::${bucket}` };
    },
    "aws:sns/topic:Topic": (name, i) => ({ arn: arn("sns", i.name ?? name) }),
    "aws:cloudwatch/dashboard:Dashboard": (name, i) => ({ dashboardArn: `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${i.dashboardName ?? name}` }),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (name) => ({ name: `${name}-${short(name).slice(0, 7)}`, arn: arn("cloudwatch", `alarm:${name}`) }),
    "aws:ecs/taskDefinition:TaskDefinition": (name, i) => ({
        arn: arn("ecs", `task-definition/${i.family ?? name}:1`),
        arnWithoutRevision: arn("ecs", `task-definition/${i.family ?? name}`),
        revision: 1,
    }),
    "aws:efs/fileSystem:FileSystem": (name) => ({ id: `fs-${short(name).slice(0, 8)}`, arn: arn("elasticfilesystem", `file-system/fs-${short(name).slice(0, 8)}`) }),
    "aws:efs/accessPoint:AccessPoint": (name) => ({ arn: arn("elasticfilesystem", `access-point/fsap-${short(name).slice(0, 17)}`) }),
    "aws:backup/vault:Vault": (name, i) => ({ name: i.name ?? name, arn: arn("backup", `backup-vault:${i.name ?? name}`) }),
    "aws:backup/plan:Plan": (name) => ({ arn: arn("backup", `backup-plan:${short(name)}`) }),
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": (name, i) => ({ name: i.name ?? name, arn: arn("servicediscovery", `namespace/ns-${short(name)}`), hostedZone: "Z0PRIVATE" }),
    "aws:servicediscovery/service:Service": (name) => ({ arn: arn("servicediscovery", `service/srv-${short(name)}`) }),
    "aws:scheduler/schedule:Schedule": (name, i) => ({ arn: arn("scheduler", `schedule/default/${i.name ?? name}`) }),
    // Deterministic stand-ins in the real formats, so the config and entrypoint tests see real shapes.
    "random:index/randomBytes:RandomBytes": (name, i) => {
        const bytes = Buffer.from(sha256(`${name}:a`) + sha256(`${name}:b`) + sha256(`${name}:c`) + sha256(`${name}:d`), "hex").subarray(0, Number(i.length));
        return { hex: bytes.toString("hex"), base64: bytes.toString("base64") };
    },
    "random:index/randomString:RandomString": (name, i) => ({ result: sha256(name).replace(/[^a-z0-9]/g, "").padEnd(64, "0").slice(0, Number(i.length)) }),
    "tls:index/privateKey:PrivateKey": (name, i) => mockKey(name, i),
    "tls:index/selfSignedCert:SelfSignedCert": (name) => ({ certPem: `-----BEGIN CERTIFICATE-----\nMOCK${short(name)}\n-----END CERTIFICATE-----\n` }),
    "aws:ecs/service:Service": (name, i) => ({ name: i.name ?? name }),
    // An encrypted volume created without a key is on the account's default EBS key; EC2
    // reports the key's ARN (never an alias) either way.
    "aws:ebs/volume:Volume": (name, i) => ({ arn: arn("ec2", `volume/vol-${short(name)}${short(name).slice(0, 5)}`), kmsKeyId: i.kmsKeyId ?? (i.encrypted ? DEFAULT_EBS_KEY_ARN : undefined) }),
    "aws:ec2/launchTemplate:LaunchTemplate": (name) => ({ arn: arn("ec2", `launch-template/lt-${short(name)}`), latestVersion: 1, defaultVersion: 1 }),
    "aws:iam/instanceProfile:InstanceProfile": (name, i) => ({ arn: `arn:aws:iam::${ACCOUNT}:instance-profile${i.path ?? "/"}${i.name ?? name}` }),
    "aws:autoscaling/group:Group": (name, i) => ({ name: i.name ?? name, arn: arn("autoscaling", `autoScalingGroup:${short(name)}:autoScalingGroupName/${i.name ?? name}`) }),
    "aws:ecs/capacityProvider:CapacityProvider": (name, i) => ({ name: i.name ?? name, arn: arn("ecs", `capacity-provider/${i.name ?? name}`) }),
    "aws:elasticache/replicationGroup:ReplicationGroup": (name, i) => {
        const id = i.replicationGroupId ?? name;
        return {
            primaryEndpointAddress: `master.${id}.abcdef.use1.cache.amazonaws.com`,
            readerEndpointAddress: `replica.${id}.abcdef.use1.cache.amazonaws.com`,
            memberClusters: Array.from({ length: Number(i.numCacheClusters ?? 1) }, (_, n) => `${id}-00${n + 1}`),
            arn: arn("elasticache", `replicationgroup:${id}`),
        };
    },
    "aws:elasticache/parameterGroup:ParameterGroup": (name, i) => ({ name: i.name ?? name }),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (_name, i) => ({ arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${String(i.url).replace(/^https:\/\//, "")}` }),
    "aws:iam/policy:Policy": (name, i) => ({ arn: `arn:aws:iam::${ACCOUNT}:policy${i.path ?? "/"}${i.name ?? name}` }),
    "aws:elasticache/subnetGroup:SubnetGroup": (name, i) => ({ name: i.name ?? name }),
    // Easy DKIM: three tokens per identity (lower-case base32 in SES).
    "aws:sesv2/emailIdentity:EmailIdentity": (name, i) => ({
        arn: arn("ses", `identity/${i.emailIdentity}`),
        dkimSigningAttributes: { ...i.dkimSigningAttributes, tokens: [0, 1, 2].map((n) => short(`${name}-${n}`)), status: "PENDING" },
    }),
    "aws:iam/user:User": (name, i) => ({ name: i.name ?? name, arn: `arn:aws:iam::${ACCOUNT}:user${i.path ?? "/"}${i.name ?? name}` }),
    // Placeholders of the real shapes: AKIA and 16 characters; a 44-character SMTP password.
    "aws:iam/accessKey:AccessKey": (name) => ({ secret: `mock-secret-${short(name)}`, sesSmtpPasswordV4: `B${sha256(name).slice(0, 43)}` }),
};

/** Placeholders in the real envelopes; the entrypoint test makes real keys with ssh-keygen. */
function mockKey(name: string, i: Record<string, any>): Outputs {
    const body = short(name);
    const pemType = i.algorithm === "RSA" ? "RSA PRIVATE KEY" : "PRIVATE KEY";
    return {
        privateKeyPem: `-----BEGIN ${pemType}-----\nMOCK${body}\n-----END ${pemType}-----\n`,
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK${body}\n-----END OPENSSH PRIVATE KEY-----\n`,
    };
}

const computedIds: Record<string, (name: string) => string> = {
    "aws:ec2/securityGroup:SecurityGroup": (name) => `sg-${short(name)}`,
    // Real EBS ids: vol- and 17 hex digits.
    "aws:ebs/volume:Volume": (name) => `vol-${short(name)}${short(name).slice(0, 5)}`,
    "aws:ec2/launchTemplate:LaunchTemplate": (name) => `lt-${short(name)}${short(name).slice(0, 5)}`,
    "aws:iam/accessKey:AccessKey": (name) => `AKIA${short(name).slice(0, 16).toUpperCase()}`,
};

export function newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const extra = computed[args.type]?.(args.name, args.inputs) ?? {};
    const id = computedIds[args.type]?.(args.name) ?? `${args.name}-id`;
    // A generic ARN for types without a specific computer, so `arn` is never undefined.
    const generic = { arn: arn(args.type.split(":")[1]?.split("/")[0] ?? "unknown", `${args.name}`) };
    return { id, state: { ...generic, ...args.inputs, ...extra } };
}

/**
 * Tags ECR already holds (`<repository name>:<tag>` to digest) for `getImage`,
 * and SSM parameters (`ssm:<name>` to value) for `getParameter`: none unless a
 * run says so (sim/harness.ts RunOptions.registry).
 */
export type Registry = Readonly<Record<string, string>>;

/**
 * What a resource created on `up` leaves in AWS for later lookups: a docker.Image build
 * its tag in ECR (naming the digest it reports), an SSM parameter its value.
 */
export function recordWrite(registry: Record<string, string>, type: string, inputs: Record<string, any>, state: Record<string, any>): void {
    if (type === "docker:index/image:Image") {
        const [repositoryUrl, digest] = String(state.repoDigest).split("@");
        const tag = String(state.baseImageName).slice(repositoryUrl.length + 1);
        registry[`${repositoryUrl.slice(repositoryUrl.indexOf("/") + 1)}:${tag}`] = digest;
    } else if (type === "aws:ssm/parameter:Parameter") {
        registry[`ssm:${inputs.name}`] = String(inputs.value);
    }
}

/**
 * The words terraform-provider-aws (bundled by @pulumi/aws 7.x) gives a data source's
 * "no such thing", as the engine's error carries them (`details`): aws_ecr_image wraps
 * ECR's ImageNotFoundException and RepositoryNotFoundException into retry.NotFoundError
 * ("couldn't find resource", terraform-plugin-sdk helper/retry) under "reading ECR Images:
 * %s" (internal/service/ecr/image_data_source.go:115, :171-175); aws_ssm_parameter does
 * the same with SSM's ParameterNotFound under "reading SSM Parameter (%s): %s"
 * (internal/service/ssm/parameter_data_source.go:66, parameter.go:362).
 */
export const NOT_FOUND = {
    ecrImage: "reading ECR Images: couldn't find resource",
    ssmParameter: (name: string) => `reading SSM Parameter (${name}): couldn't find resource`,
};

/** AWS's refusal of an invoke's call, as the AWS SDK for Go v2 words it inside the provider's error. */
export function accessDenied(token: string): Error {
    const action = { "aws:ssm/getParameter:getParameter": "ssm:GetParameter", "aws:ecr/getImage:getImage": "ecr:DescribeImages" }[token] ?? token;
    const details = `operation error: https response error StatusCode: 400, api error AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/platform-ci-preview/gitlab is not authorized to perform: ${action}`;
    return Object.assign(new Error(details), { details });
}

/** `getImage` by digest: the repository's tags that name it, or ECR's not-found. */
function imageByDigest(repositoryName: string, digest: string, registry: Registry): pulumi.runtime.MockCallResult {
    const prefix = `${repositoryName}:`;
    const tags = Object.entries(registry)
        .filter(([k, d]) => k.startsWith(prefix) && d === digest)
        .map(([k]) => k.slice(prefix.length));
    if (tags.length === 0) {
        throw Object.assign(new Error(NOT_FOUND.ecrImage), { details: NOT_FOUND.ecrImage });
    }
    return { id: digest, imageDigest: digest, imageTags: tags, repositoryName };
}

export function call(args: pulumi.runtime.MockCallArgs, registry: Registry = {}): pulumi.runtime.MockCallResult {
    switch (args.token) {
        case "aws:ecr/getImage:getImage": {
            if (args.inputs.imageDigest !== undefined) {
                return imageByDigest(args.inputs.repositoryName, args.inputs.imageDigest, registry);
            }
            const digest = registry[`${args.inputs.repositoryName}:${args.inputs.imageTag}`];
            if (digest === undefined) {
                throw Object.assign(new Error(NOT_FOUND.ecrImage), { details: NOT_FOUND.ecrImage });
            }
            const uri = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${args.inputs.repositoryName}@${digest}`;
            return { id: digest, imageDigest: digest, imageTags: [args.inputs.imageTag], repositoryName: args.inputs.repositoryName, registryId: ACCOUNT, imageUri: uri };
        }
        case "aws:ssm/getParameter:getParameter": {
            const value = registry[`ssm:${args.inputs.name}`];
            if (value === undefined) {
                const details = NOT_FOUND.ssmParameter(args.inputs.name);
                throw Object.assign(new Error(details), { details });
            }
            return { id: args.inputs.name, name: args.inputs.name, type: "String", value, insecureValue: value, version: 1 };
        }
        case "aws:index/getRegion:getRegion":
            return { id: REGION, name: REGION, region: REGION };
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { id: ACCOUNT, accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/mock`, userId: "MOCK" };
        case "aws:route53/getZone:getZone":
            return { id: "Z0123456789ABCDEFGHIJ", zoneId: "Z0123456789ABCDEFGHIJ", name: args.inputs.name, privateZone: false };
        // awsx's subnets are subnet-<tier>-<n>, one per AZ in order.
        case "aws:ec2/getSubnet:getSubnet": {
            const n = Number(/-(\d+)$/.exec(String(args.inputs.id))?.[1] ?? "1");
            return { id: args.inputs.id, availabilityZone: `${REGION}${"abcdef"[n - 1]}` };
        }
        // A customer managed default, as an administrator sets it (ModifyEbsDefaultKmsKeyId): a key ARN.
        case "aws:ebs/getDefaultKmsKey:getDefaultKmsKey":
            return { id: REGION, keyArn: DEFAULT_EBS_KEY_ARN, region: REGION };
        case "aws:index/getPartition:getPartition":
            return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com" };
        default:
            throw new Error(`no mock for invoke ${args.token}`);
    }
}
