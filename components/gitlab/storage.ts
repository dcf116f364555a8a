import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AccessLogTarget, secureBucket } from "../../aws/bucket";
import { allowPortFrom } from "../../aws/securityGroups";
import { GitLabBuckets, ObjectType } from "./types";

/**
 * Every object type GitLab 19 keeps in object storage through the
 * consolidated `gitlab_rails['object_store']` form (omnibus-gitlab 19.3
 * gitlab.rb.template): one bucket each, as GitLab requires. All but `pages`:
 * this program runs no GitLab Pages, and GitLab asks for a type's bucket only
 * where that feature is enabled (config/object_store_settings.rb: a missing
 * bucket is an error for an enabled section only, and for Pages a warning),
 * so an empty Pages bucket would serve nothing.
 */
export const OBJECT_TYPES = Object.keys({
    artifacts: true,
    external_diffs: true,
    lfs: true,
    uploads: true,
    packages: true,
    dependency_proxy: true,
    terraform_state: true,
    ci_secure_files: true,
    agent_plan_content: true,
    // Keys rather than a list: the compiler wants each of types.ts's ObjectType here exactly once.
} satisfies Record<ObjectType, true>) as readonly ObjectType[];

export const NFS_PORT = 2049;

/** The NFS client rights an EFS file-system policy and IAM grant or deny. */
export const EFS_CLIENT_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"] as const;

/**
 * GitLab's buckets: one per object type, the container registry's, and the
 * backups'. All with the app bucket's hardening (aws/bucket.ts); versioned
 * and protected when `protect` is set; backups expire after
 * `backupRetentionDays`.
 */
export function gitlabBuckets(
    name: string,
    args: { readonly protect: boolean; readonly backupRetentionDays: number; readonly accessLogs: AccessLogTarget },
    opts: pulumi.CustomResourceOptions,
): GitLabBuckets {
    const bucket = (suffix: string, extra: { expireDays?: number; objectOwnership?: "BucketOwnerPreferred" } = {}) =>
        secureBucket(
            `${name}-${suffix.replace(/_/g, "-")}`,
            {
                versioning: args.protect,
                protect: args.protect,
                encryption: "aws:kms",
                accessLogs: { bucket: args.accessLogs.bucket, prefix: `${args.accessLogs.prefix}${suffix}/` },
                ...extra,
            },
            opts,
        ).bucket;
    // CarrierWave (Rails uploads) and the registry's S3 driver send `x-amz-acl: private`:
    // those buckets keep ACLs (owner-preferred). Backups are written by fog and Gitaly without ACLs.
    const withAcls = { objectOwnership: "BucketOwnerPreferred" as const };
    const objects = Object.fromEntries(OBJECT_TYPES.map((t) => [t, bucket(t, withAcls)])) as Record<ObjectType, aws.s3.Bucket>;
    return { objects, registry: bucket("registry", withAcls), backups: bucket("backups", { expireDays: args.backupRetentionDays }) };
}

export interface RepositoryFileSystemArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets, one mount target each. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** How many subnets there are (known before the VPC exists, unlike the ids). */
    readonly subnetCount: number;
    /** The only security group whose members may reach NFS. */
    readonly clientSecurityGroupId: pulumi.Input<string>;
    readonly throughputMode: "elastic" | "bursting";
    /** Pulumi `protect` (prod). */
    readonly protect: boolean;
}

export interface RepositoryFileSystem {
    readonly fileSystem: aws.efs.FileSystem;
    readonly accessPoint: aws.efs.AccessPoint;
    readonly mountTargets: aws.efs.MountTarget[];
}

/**
 * The EFS file system for the repositories: encrypted with KMS, reachable on
 * 2049 only from the client security group, one mount target per private
 * subnet, and one access point under /gitlab. The access point forces no
 * POSIX user: Omnibus runs as root and hands directories to git (998) and
 * others itself, which a forced user would break.
 */
export function repositoryFileSystem(name: string, args: RepositoryFileSystemArgs, opts: pulumi.CustomResourceOptions): RepositoryFileSystem {
    const fileSystem = new aws.efs.FileSystem(
        name,
        {
            encrypted: true,
            performanceMode: "generalPurpose",
            // No lifecycle policy: repositories are read on every clone, so nothing moves to Infrequent Access.
            throughputMode: args.throughputMode,
        },
        // Kept in AWS if Pulumi ever deletes it (a move to the split topology, docs/operations/single-to-split.md).
        { ...opts, protect: args.protect, retainOnDelete: args.protect },
    );
    const sg = new aws.ec2.SecurityGroup(`${name}-nfs`, { vpcId: args.vpcId, description: `${name}: NFS from GitLab tasks only` }, opts);
    const ingress = allowPortFrom(`${name}-nfs-from-gitlab`, { securityGroupId: sg.id, sourceSecurityGroupId: args.clientSecurityGroupId, port: NFS_PORT, description: "NFS from GitLab" }, opts);
    const subnets = pulumi.output(args.subnetIds);
    const mountTargets = Array.from(
        { length: args.subnetCount },
        (_, i) =>
            new aws.efs.MountTarget(
                `${name}-mount-${i + 1}`,
                {
                    fileSystemId: fileSystem.id,
                    subnetId: subnets.apply((ids) => {
                        if (ids.length !== args.subnetCount) {
                            throw new Error(`expected ${args.subnetCount} private subnets, got ${ids.length}`);
                        }
                        return ids[i];
                    }),
                    securityGroups: [sg.id],
                },
                { ...opts, dependsOn: [ingress] },
            ),
    );
    const accessPoint = new aws.efs.AccessPoint(
        name,
        {
            fileSystemId: fileSystem.id,
            // Created on first use as root-owned 0755; Omnibus chowns what it manages below it.
            rootDirectory: { path: "/gitlab", creationInfo: { ownerUid: 0, ownerGid: 0, permissions: "0755" } },
        },
        opts,
    );
    return { fileSystem, accessPoint, mountTargets };
}

/**
 * The file-system policy: NFS without TLS is refused to everyone, and only
 * `clientRoleArn` may mount, write and act as root, through the access point
 * only. Anonymous mounts (no IAM) match no Allow and fail.
 */
export function fileSystemPolicy(fileSystemArn: pulumi.Input<string>, accessPointArn: pulumi.Input<string>, clientRoleArn: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: { AWS: "*" },
                Action: [...EFS_CLIENT_ACTIONS],
                Resource: fileSystemArn,
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
            {
                Sid: "GitLabThroughAccessPoint",
                Effect: "Allow",
                Principal: { AWS: clientRoleArn },
                Action: [...EFS_CLIENT_ACTIONS],
                Resource: fileSystemArn,
                Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": accessPointArn }, Bool: { "aws:SecureTransport": "true" } },
            },
        ],
    });
}
