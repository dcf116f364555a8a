import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackContext } from "../aws/context";
import { physicalName } from "../facts/naming";

export interface EcrImageArgs {
    /** Naming; `protect` keeps the repository and its images on `pulumi destroy`. */
    readonly context: StackContext;
    /**
     * Build context directory (relative to the Pulumi project): the export of
     * the folder at its commit (hooks/buildContext.ts), so its content hash is
     * the same on every machine.
     */
    readonly buildContext: string;
    /** Dockerfile path; defaults to `<buildContext>/Dockerfile`. */
    readonly dockerfile?: string;
    /** Image tag: names every input of the build (facts/imageSource.ts `imageSource`). */
    readonly tag: string;
    /** Tag of the previous build to use as layer cache; a missing tag only costs a cold build. */
    readonly cacheFromTag?: string;
    /** Target platform (Fargate Spot is x86_64 only). */
    readonly platform: "linux/amd64" | "linux/arm64";
    /** How many tagged images to keep; older ones expire. */
    readonly keepTaggedImages: number;
    /** Docker build arguments; they must be functions of the tag (e.g. the commit), or the tag would lie. */
    readonly buildArgs?: Record<string, string>;
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

/** An image as a task definition runs it: by digest, and the one repository its execution role may pull from. */
export interface ImageRef {
    /** `repo@sha256:...` */
    readonly image: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;
}

/**
 * An ECR repository and the image built from one directory and pushed to it.
 * Consumers get `ref`, the image by digest: a task definition that names a
 * digest runs exactly the bytes that were built, whatever happens to tags.
 *
 * The build is a docker.Image (`<name>-image`) whose inputs are functions of
 * the folder's commit alone: the context is the commit's export (fixed modes
 * and mtimes), the tag and build arguments name the commit, the registry
 * password is ignored by the provider's diff. So an unchanged folder is no
 * change at all, on any machine. The program first asks ECR for the tag
 * (`ecr:DescribeImages`): a tag already there (a redeploy of an older commit,
 * a retried `up` whose push landed, the command-built tags from before) is
 * used by its digest and no docker.Image is declared, because a second push
 * into an IMMUTABLE tag fails. A build is declared on `pulumi up` only.
 */
export class EcrImage extends pulumi.ComponentResource {
    readonly repositoryUrl: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;
    /** `repo@sha256:...` */
    readonly imageRef: pulumi.Output<string>;
    readonly ref: ImageRef;

    constructor(name: string, args: EcrImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:ecr:EcrImage", name, {}, opts);
        const repositoryName = physicalName(args.context.naming, name);
        const repo = new aws.ecr.Repository(
            name,
            {
                name: repositoryName,
                // Tags name an image's inputs and must never be moved to other bytes.
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "KMS" }],
                // A protected stack keeps its images when the stack is destroyed.
                forceDelete: !args.context.protect,
            },
            { parent: this },
        );
        new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: repo.name, policy: lifecyclePolicy(args.keepTaggedImages) }, { parent: this });

        const pushed = pulumi.output(pushedDigest(repositoryName, args.tag, this));
        this.imageRef = pushed.apply((digest) => {
            if (digest !== undefined) {
                return pulumi.interpolate`${repo.repositoryUrl}@${digest}`;
            }
            // A preview declares no build: the docker provider pings a Docker engine as soon as
            // it is configured (pulumi-docker v4.6.2 configureDockerClient), and previews run
            // without one. The new image shows as the task definitions' unknown image.
            return pulumi.runtime.isDryRun() ? pulumi.output<string>(pulumi.unknown as unknown as string) : this.build(name, args, repo).repoDigest.apply(imageRefOf);
        });
        this.repositoryUrl = repo.repositoryUrl;
        this.repositoryArn = repo.arn;
        this.ref = { image: this.imageRef, repositoryArn: this.repositoryArn };
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn, imageRef: this.imageRef });
    }

    /** The build and push of a tag ECR does not have yet. */
    private build(name: string, args: EcrImageArgs, repo: aws.ecr.Repository): docker.Image {
        const registry = repo.repositoryUrl.apply((url) => url.slice(0, url.indexOf("/")));
        const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, { parent: this });
        return new docker.Image(
            `${name}-image`,
            {
                imageName: pulumi.interpolate`${repo.repositoryUrl}:${args.tag}`,
                build: {
                    context: args.buildContext,
                    dockerfile: args.dockerfile ?? `${args.buildContext}/Dockerfile`,
                    platform: args.platform,
                    // Inline cache metadata lets the next tag's build use this image as its cache.
                    args: { ...args.buildArgs, BUILDKIT_INLINE_CACHE: "1" },
                    ...(args.cacheFromTag ? { cacheFrom: { images: [pulumi.interpolate`${repo.repositoryUrl}:${args.cacheFromTag}`] } } : {}),
                },
                // A fresh token on every run; the provider diffs only `server`, so it never rebuilds an image.
                registry: { server: registry, username: token.userName, password: pulumi.secret(token.password) },
                skipPush: false,
                buildOnPreview: false,
            },
            { parent: this },
        );
    }
}

/**
 * The digest ECR holds for `tag`, or undefined when the repository or the
 * tag does not exist yet (the first deploy, a new commit). Any other error
 * (no credentials, no permission) fails the program: guessing "absent"
 * would push into a tag that may exist.
 */
async function pushedDigest(repositoryName: string, tag: string, parent: pulumi.Resource): Promise<string | undefined> {
    try {
        return (await aws.ecr.getImage({ repositoryName, imageTag: tag }, { parent })).imageDigest;
    } catch (e) {
        if (isNotThere(String(e))) {
            return undefined;
        }
        throw e;
    }
}

/**
 * terraform-provider-aws's `aws_ecr_image` words for "no such tag" (ECR's
 * ImageNotFoundException), "no such repository" (RepositoryNotFoundException,
 * wrapped as "couldn't find resource") and an empty answer.
 */
export function isNotThere(message: string): boolean {
    return /ImageNotFoundException|RepositoryNotFoundException|couldn't find resource|query returned no results/.test(message);
}

/** The pushed image by digest, `<repository url>@sha256:<digest>`, checked: a task definition must never name a tag. */
export function imageRefOf(repoDigest: string): string {
    if (!/^[^@\s]+@sha256:[0-9a-f]{64}$/.test(repoDigest)) {
        throw new Error(`the image build reported no digest (repoDigest ${JSON.stringify(repoDigest)})`);
    }
    return repoDigest;
}
