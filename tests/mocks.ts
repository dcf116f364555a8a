import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";

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
            routeTables: [{ id: "rtb-public" }, ...ids("private").map((s) => ({ id: `rtb-${s}` })), ...ids("isolated").map((s) => ({ id: `rtb-${s}` }))],
        };
    },
    "aws:ecr/repository:Repository": (name) => ({
        arn: arn("ecr", `repository/${name}`),
        name,
        registryId: ACCOUNT,
        repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}`,
    }),
    "docker:index/image:Image": (_name, i) => {
        const repo = String(i.imageName).replace(/:[^:/]+$/, "");
        return { repoDigest: `${repo}@sha256:${sha256(String(i.imageName))}` };
    },
    "aws:ec2/securityGroup:SecurityGroup": (name) => ({ arn: arn("ec2", `security-group/sg-${short(name)}`) }),
    "aws:cloudwatch/logGroup:LogGroup": (name, i) => {
        const logName = i.name ?? `${i.namePrefix ?? ""}${short(name)}`;
        return { name: logName, arn: arn("logs", `log-group:${logName}`) };
    },
    "aws:iam/role:Role": (name) => ({ name, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` }),
    "aws:ecs/cluster:Cluster": (name) => ({ name, arn: arn("ecs", `cluster/${name}`) }),
};

const computedIds: Record<string, (name: string) => string> = {
    "aws:ec2/securityGroup:SecurityGroup": (name) => `sg-${short(name)}`,
};

export function newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
    const extra = computed[args.type]?.(args.name, args.inputs) ?? {};
    const id = computedIds[args.type]?.(args.name) ?? `${args.name}-id`;
    // A generic ARN for types without a specific computer, so `arn` is never undefined.
    const generic = { arn: arn(args.type.split(":")[1]?.split("/")[0] ?? "unknown", `${args.name}`) };
    return { id, state: { ...generic, ...args.inputs, ...extra } };
}

export function call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    switch (args.token) {
        case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                id: REGION,
                userName: "AWS",
                password: "mock-ecr-password",
                proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
                authorizationToken: Buffer.from("AWS:mock-ecr-password").toString("base64"),
                expiresAt: "2099-01-01T00:00:00Z",
                region: REGION,
            };
        case "aws:index/getRegion:getRegion":
            return { id: REGION, name: REGION, region: REGION };
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { id: ACCOUNT, accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/mock`, userId: "MOCK" };
        case "aws:index/getPartition:getPartition":
            return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com" };
        default:
            throw new Error(`no mock for invoke ${args.token}`);
    }
}
