import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface EcrImageArgs {
    /** Build context directory (relative to the Pulumi project). */
    readonly context: string;
    /** Dockerfile path; defaults to `<context>/Dockerfile`. */
    readonly dockerfile?: string;
    /** Image tag: the commit SHA the image is built from (see lib/build.ts). */
    readonly tag: string;
    /** Tag of the previous build to use as layer cache; a missing tag only costs a cold build. */
    readonly cacheFromTag?: string;
    /** Target platform. Defaults to linux/amd64 (Fargate Spot is x86_64 only). */
    readonly platform?: "linux/amd64" | "linux/arm64";
    /** How many tagged images to keep; older ones expire. Defaults to 30. */
    readonly keepTaggedImages?: number;
    /** Docker build arguments (e.g. the commit SHA baked into the image). */
    readonly buildArgs?: Record<string, pulumi.Input<string>>;
    /** Build during `pulumi preview` (never pushes). Defaults to false. */
    readonly buildOnPreview?: boolean;
    /** Let `pulumi destroy` delete a repository that still holds images. Defaults to false. */
    readonly forceDelete?: boolean;
}

/** Lifecycle rules: untagged layers go after a day; only the newest `keep` tagged images stay. */
export function lifecyclePolicy(keep: number): string {
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: "expire untagged images after 1 day",
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 },
                action: { type: "expire" },
            },
            {
                rulePriority: 2,
                description: `keep the last ${keep} tagged images`,
                selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: keep },
                action: { type: "expire" },
            },
        ],
    });
}

/**
 * An ECR repository and the image built from one directory and pushed to it.
 * Consumers get `imageRef`, the image by digest: a task definition that names a
 * digest runs exactly the bytes that were built, whatever happens to tags.
 */
export class EcrImage extends pulumi.ComponentResource {
    readonly repositoryUrl: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;
    /** `repo@sha256:...` */
    readonly imageRef: pulumi.Output<string>;

    constructor(name: string, args: EcrImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:ecr:EcrImage", name, {}, opts);
        const a = {
            platform: "linux/amd64" as const,
            keepTaggedImages: 30,
            buildOnPreview: false,
            forceDelete: false,
            ...args,
        };
        const parent = { parent: this };

        const repo = new aws.ecr.Repository(
            name,
            {
                // Tags are commit SHAs and must never be moved to other bytes.
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "KMS" }],
                forceDelete: a.forceDelete,
            },
            parent,
        );
        new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: repo.name, policy: lifecyclePolicy(a.keepTaggedImages) }, parent);

        const creds = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, parent);
        const image = new docker.Image(
            name,
            {
                imageName: pulumi.interpolate`${repo.repositoryUrl}:${a.tag}`,
                build: {
                    context: a.context,
                    dockerfile: a.dockerfile ?? `${a.context}/Dockerfile`,
                    platform: a.platform,
                    args: a.buildArgs,
                    cacheFrom: a.cacheFromTag ? { images: [pulumi.interpolate`${repo.repositoryUrl}:${a.cacheFromTag}`] } : undefined,
                },
                registry: {
                    server: repo.repositoryUrl,
                    username: creds.userName,
                    password: pulumi.secret(creds.password),
                },
                buildOnPreview: a.buildOnPreview,
            },
            parent,
        );

        this.repositoryUrl = repo.repositoryUrl;
        this.repositoryArn = repo.arn;
        this.imageRef = image.repoDigest;
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn, imageRef: this.imageRef });
    }
}
