import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface SecureBucketArgs {
    /** A fixed physical name, for a bucket others name in their config (Pulumi's state); auto-named by default. */
    readonly bucketName?: pulumi.Input<string>;
    /** Keep object versions (prod): an overwrite or delete can be undone. */
    readonly versioning: boolean;
    /** `protect` the bucket and refuse `pulumi destroy` of a non-empty one. */
    readonly protect: boolean;
    /**
     * SSE algorithm. ALB access logs only accept SSE-S3 (AES256); everything
     * else uses KMS with the AWS-managed key.
     */
    readonly encryption: "AES256" | "aws:kms";
    /** Expire current objects after this many days (log buckets). */
    readonly expireDays?: number;
    /** Send S3 server access logs here (Security Hub S3.9); log buckets themselves leave it unset. */
    readonly accessLogs?: AccessLogTarget;
    /**
     * Object ownership. "BucketOwnerEnforced" (the default) disables ACLs
     * (Security Hub S3.12). "BucketOwnerPreferred" keeps ACLs for software that
     * sends `x-amz-acl: private` on upload (GitLab through CarrierWave and the
     * registry's S3 driver), which an ACL-less bucket refuses; public access
     * stays blocked either way.
     */
    readonly objectOwnership?: "BucketOwnerEnforced" | "BucketOwnerPreferred";
    /** Extra bucket-policy statements (e.g. log delivery), besides the TLS-only deny. */
    readonly extraStatements?: (bucketArn: pulumi.Output<string>) => pulumi.Input<Record<string, unknown>>[];
}

/** A log bucket and the key prefix under which one data bucket's access logs go. */
export interface AccessLogTarget {
    readonly bucket: pulumi.Input<string>;
    /** Ends in "/"; the log bucket's policy admits S3 log delivery under S3_ACCESS_LOG_PREFIX only. */
    readonly prefix: string;
}

/** Every data bucket's server access logs go under this prefix of the log bucket. */
export const S3_ACCESS_LOG_PREFIX = "s3/";

/**
 * The log bucket's policy statement for S3 server access log delivery: the
 * logging service may write under S3_ACCESS_LOG_PREFIX, for buckets of this
 * account only (AWS's documented form, with the source-account condition).
 */
export function s3AccessLogDelivery(bucketArn: pulumi.Input<string>, accountId: pulumi.Input<string>): Record<string, unknown> {
    return {
        Sid: "S3ServerAccessLogs",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: pulumi.interpolate`${bucketArn}/${S3_ACCESS_LOG_PREFIX}*`,
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
    };
}

export interface SecureBucket {
    readonly bucket: aws.s3.Bucket;
    readonly policy: aws.s3.BucketPolicy;
}

/**
 * An S3 bucket with every public-access block, ownership enforced (no ACLs),
 * SSE, a TLS-only policy, optional versioning and expiry. Children are
 * parented like the bucket and named `${name}-suffix`.
 */
export function secureBucket(name: string, args: SecureBucketArgs, opts: pulumi.CustomResourceOptions): SecureBucket {
    const bucket = new aws.s3.Bucket(name, { bucket: args.bucketName, forceDestroy: !args.protect }, { ...opts, protect: args.protect });
    const id = bucket.id;
    const pab = new aws.s3.BucketPublicAccessBlock(
        `${name}-public-access`,
        { bucket: id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        opts,
    );
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: id, rule: { objectOwnership: args.objectOwnership ?? "BucketOwnerEnforced" } }, opts);
    new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-sse`,
        {
            bucket: id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: args.encryption }, bucketKeyEnabled: args.encryption === "aws:kms" }],
        },
        opts,
    );
    if (args.accessLogs) {
        new aws.s3.BucketLogging(
            `${name}-access-logs`,
            { bucket: id, targetBucket: args.accessLogs.bucket, targetPrefix: `${S3_ACCESS_LOG_PREFIX}${args.accessLogs.prefix}` },
            opts,
        );
    }
    new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: id, versioningConfiguration: { status: args.versioning ? "Enabled" : "Suspended" } }, opts);
    new aws.s3.BucketLifecycleConfiguration(
        `${name}-lifecycle`,
        {
            bucket: id,
            rules: [
                {
                    id: "expire",
                    status: "Enabled",
                    filter: {},
                    ...(args.expireDays !== undefined ? { expiration: { days: args.expireDays } } : {}),
                    // Old versions are the undo window, not an archive.
                    ...(args.versioning ? { noncurrentVersionExpiration: { noncurrentDays: 30 } } : {}),
                    // Parts of uploads nobody finished (the container registry leaves them) are billed until aborted.
                    abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                },
            ],
        },
        opts,
    );
    const policy = new aws.s3.BucketPolicy(
        `${name}-policy`,
        {
            bucket: id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        // A Deny: every S3 action over plain HTTP is refused (Security Hub S3.5).
                        Sid: "DenyInsecureTransport",
                        Effect: "Deny",
                        Principal: "*",
                        Action: "s3:*",
                        Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                    ...(args.extraStatements?.(bucket.arn) ?? []),
                ],
            }),
        },
        // The public-access block must exist first or S3 may judge the policy against an open bucket.
        { ...opts, dependsOn: [pab] },
    );
    return { bucket, policy };
}
