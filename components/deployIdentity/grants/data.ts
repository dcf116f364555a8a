import { arn, BUCKET_DESTROY, BUCKET_READS, BUCKET_WRITES, ec2, Grant, st, STACK_TAG } from "./model";

/** Data: RDS, ElastiCache, EFS, S3 and AWS Backup. */
export const DATA_GRANTS: readonly Grant[] = [
    {
        sid: "Rds",
        covers: ["aws:rds/instance:Instance"],
        read: [],
        write: ["rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:CreateDBSnapshot", "rds:AddTagsToResource", "rds:RemoveTagsFromResource"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "rds", `db:${s.naming.prefix}-*`), arn(s, "rds", `snapshot:${s.naming.prefix}-*`)] }),
    },
    {
        sid: "RdsReads",
        covers: ["tool:rds-describe"],
        // The provider finds an instance by its resource id (a filter), which RDS authorizes on db:*.
        read: ["rds:DescribeDBInstances"],
        write: [],
        scope: (s) => ({ kind: "account", resources: [arn(s, "rds", "db:*")], why: "a describe by filter authorizes on every instance; read only" }),
    },
    {
        sid: "RdsReferences",
        covers: ["tool:rds-instance-references"],
        read: [],
        // An instance names its parameter, subnet and (default) option groups: referencing only.
        write: ["rds:CreateDBInstance", "rds:ModifyDBInstance"],
        scope: (s) => ({ kind: "account", resources: [arn(s, "rds", "pg:*"), arn(s, "rds", "subgrp:*"), arn(s, "rds", "og:*")], why: "an instance's create and modify authorize on the groups it names" }),
    },
    {
        sid: "RdsGroups",
        covers: ["aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup"],
        read: ["rds:DescribeDBParameterGroups", "rds:DescribeDBParameters", "rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"],
        write: ["rds:CreateDBParameterGroup", "rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup", "rds:DeleteDBParameterGroup", "rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup", "rds:AddTagsToResource", "rds:RemoveTagsFromResource"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "rds", "pg:*"), arn(s, "rds", "subgrp:*")], create: [
                { action: "rds:CreateDBParameterGroup", on: [arn(s, "rds", "pg:*")] },
                { action: "rds:CreateDBSubnetGroup", on: [arn(s, "rds", "subgrp:*")] },
            ], tagOnCreate: { action: "rds:AddTagsToResource" } }),
    },
    {
        sid: "ElastiCache",
        covers: ["aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/parameterGroup:ParameterGroup", "aws:elasticache/subnetGroup:SubnetGroup"],
        read: [
            "elasticache:DescribeReplicationGroups", "elasticache:DescribeCacheClusters", "elasticache:DescribeCacheParameterGroups", "elasticache:DescribeCacheParameters", "elasticache:DescribeCacheSubnetGroups",
            "elasticache:ListTagsForResource", "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
        ],
        write: [
            "elasticache:CreateReplicationGroup", "elasticache:ModifyReplicationGroup", "elasticache:IncreaseReplicaCount", "elasticache:DecreaseReplicaCount", "elasticache:DeleteReplicationGroup", "elasticache:CreateSnapshot",
            "elasticache:CreateCacheParameterGroup", "elasticache:ModifyCacheParameterGroup", "elasticache:ResetCacheParameterGroup", "elasticache:DeleteCacheParameterGroup",
            "elasticache:CreateCacheSubnetGroup", "elasticache:ModifyCacheSubnetGroup", "elasticache:DeleteCacheSubnetGroup",
            "elasticache:AddTagsToResource", "elasticache:RemoveTagsFromResource",
            // The slow log goes to CloudWatch Logs through a log delivery made in the caller's name.
            "logs:CreateLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy",
        ],
        scope: (s) => ({
            kind: "named",
            resources: ["replicationgroup", "cluster", "parametergroup", "subnetgroup", "snapshot"].map((t) => arn(s, "elasticache", `${t}:${s.naming.prefix}-*`)),
        }),
    },
    {
        sid: "Efs",
        covers: ["aws:efs/fileSystem:FileSystem", "aws:efs/accessPoint:AccessPoint", "aws:efs/backupPolicy:BackupPolicy", "aws:efs/fileSystemPolicy:FileSystemPolicy", "aws:efs/mountTarget:MountTarget"],
        read: [
            "elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeLifecycleConfiguration", "elasticfilesystem:DescribeAccessPoints", "elasticfilesystem:DescribeBackupPolicy",
            "elasticfilesystem:DescribeFileSystemPolicy", "elasticfilesystem:DescribeMountTargets", "elasticfilesystem:DescribeMountTargetSecurityGroups",
        ],
        write: [
            "elasticfilesystem:CreateFileSystem", "elasticfilesystem:UpdateFileSystem", "elasticfilesystem:DeleteFileSystem",
            "elasticfilesystem:CreateAccessPoint", "elasticfilesystem:DeleteAccessPoint",
            "elasticfilesystem:PutBackupPolicy", "elasticfilesystem:PutFileSystemPolicy", "elasticfilesystem:DeleteFileSystemPolicy",
            "elasticfilesystem:CreateMountTarget", "elasticfilesystem:ModifyMountTargetSecurityGroups", "elasticfilesystem:DeleteMountTarget",
            "elasticfilesystem:TagResource", "elasticfilesystem:UntagResource",
        ],
        scope: (s) => ({
            kind: "tagged",
            resources: [arn(s, "elasticfilesystem", "file-system/*"), arn(s, "elasticfilesystem", "access-point/*")],
            // An access point authorizes on its file system only: that one's tag decides.
            create: [{ action: "elasticfilesystem:CreateFileSystem", on: ["*"] }],
            tagOnCreate: { action: "elasticfilesystem:TagResource", createActionKey: "elasticfilesystem:CreateAction", creates: ["elasticfilesystem:CreateFileSystem", "elasticfilesystem:CreateAccessPoint"] },
        }),
    },
    {
        sid: "EfsInterfaces",
        covers: ["tool:efs-mount-target-interfaces"],
        read: ["ec2:DescribeNetworkInterfaceAttribute", "ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces"],
        // A mount target is a network interface EFS makes with the caller's rights, in this stack's subnets.
        write: ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"],
        scope: (s) => ({
            kind: "custom",
            why: "the interface is EFS's and untagged; its subnet and security groups are this stack's",
            statements: [
                st({ sid: "EfsInterfacesPlace", actions: ["ec2:CreateNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"], resources: ec2(s, "subnet", "security-group"), conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG}`]: s.naming.stack } } }),
                st({ sid: "EfsInterfaces", actions: ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"], resources: ec2(s, "network-interface"), conditions: { Bool: { "aws:ViaAWSService": "true" } } }),
            ],
        }),
    },
    {
        sid: "Buckets",
        covers: [
            "aws:s3/bucket:Bucket",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "aws:s3/bucketLogging:BucketLogging",
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketVersioning:BucketVersioning",
        ],
        read: BUCKET_READS,
        write: BUCKET_WRITES,
        unprotectedOnly: BUCKET_DESTROY,
        // On the stack's buckets by ARN: bucketStatements(), a policy of its own.
        scope: () => ({ kind: "custom", why: "bucket names carry no stack prefix; the stack lists its buckets", statements: [] }),
    },
    {
        sid: "Backup",
        covers: ["aws:backup/vault:Vault", "aws:backup/plan:Plan", "aws:backup/selection:Selection"],
        read: ["backup:DescribeBackupVault", "backup:ListTags", "backup:ListRecoveryPointsByBackupVault"],
        write: ["backup:CreateBackupVault", "backup:DeleteBackupVault", "backup:TagResource", "backup:UntagResource", "backup-storage:MountCapsule"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "backup", `backup-vault:${s.naming.prefix}-*`)] }),
    },
    {
        sid: "BackupPlans",
        covers: ["tool:backup-plans"],
        read: ["backup:GetBackupPlan", "backup:GetBackupSelection"],
        write: ["backup:CreateBackupPlan", "backup:UpdateBackupPlan", "backup:DeleteBackupPlan", "backup:CreateBackupSelection", "backup:DeleteBackupSelection", "backup:TagResource", "backup:UntagResource"],
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "backup", "backup-plan:*")], create: [{ action: "backup:CreateBackupPlan", on: [arn(s, "backup", "backup-plan:*")] }], tagOnCreate: { action: "backup:TagResource" } }),
    },
    {
        sid: "RecoveryPoints",
        covers: ["tool:recovery-points"],
        read: ["backup:DescribeRecoveryPoint"],
        write: [],
        // Emptying a vault on destroy: unprotected stacks only, their own recovery points only.
        unprotectedOnly: ["backup:DeleteRecoveryPoint"],
        scope: (s) => ({
            kind: "account",
            resources: [arn(s, "backup", "recovery-point:*"), `arn:aws:ec2:${s.region}::snapshot/*`],
            why: "recovery point ids are AWS's; this stack's by tag",
            conditions: { StringEquals: { [`aws:ResourceTag/${STACK_TAG}`]: s.naming.stack } },
        }),
    },
];
