import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { StackContext } from "../aws/context";
import { physicalName } from "../facts/naming";

export interface EcrImageArgs {
    /** The region (the push tool's ECR client), naming; `protect` keeps the repository and its images on `pulumi destroy`. */
    readonly context: StackContext;
    /** Build context directory (relative to the Pulumi project). */
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

/** The push hook (hooks/pushImage.ts), run by Pulumi in the project directory through its stable entry point. */
export const PUSH_COMMAND = "node_modules/.bin/ts-node --transpile-only tools/pushImage.ts";

/** An image as a task definition runs it: by digest, and the one repository its execution role may pull from. */
export interface ImageRef {
    /** `repo@sha256:...` */
    readonly image: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;
}

/**
 * An ECR repository and the image built from one directory and pushed to it.
 * Consumers get `imageRef`, the image by digest: a task definition that names a
 * digest runs exactly the bytes that were built, whatever happens to tags.
 *
 * The build is a command keyed on the tag alone, not a docker.Image: that
 * resource re-hashes the context on every run, file modes included, so the
 * same commit checked out by CI and by a laptop "changed" and was rebuilt and
 * pushed again under its IMMUTABLE tag, which ECR refuses. Here an unchanged
 * tag is no change at all, and the push tool asks ECR first: a tag already
 * there (an earlier run, a redeploy of an older commit) is reused, never built
 * or pushed again. It runs on `pulumi up` only, never on a preview.
 */
export class EcrImage extends pulumi.ComponentResource {
    readonly repositoryUrl: pulumi.Output<string>;
    readonly repositoryArn: pulumi.Output<string>;
    /** `repo@sha256:...` */
    readonly imageRef: pulumi.Output<string>;
    readonly ref: ImageRef;

    constructor(name: string, args: EcrImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:ecr:EcrImage", name, {}, opts);
        const a = {
            buildArgs: {},
            ...args,
        };
        const parent = { parent: this };

        const repo = new aws.ecr.Repository(
            name,
            {
                name: physicalName(a.context.naming, name),
                // Tags name an image's inputs and must never be moved to other bytes.
                imageTagMutability: "IMMUTABLE",
                imageScanningConfiguration: { scanOnPush: true },
                encryptionConfigurations: [{ encryptionType: "KMS" }],
                // A protected stack keeps its images when the stack is destroyed.
                forceDelete: !a.context.protect,
            },
            parent,
        );
        new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: repo.name, policy: lifecyclePolicy(a.keepTaggedImages) }, parent);

        const push = new command.local.Command(
            `${name}-push`,
            {
                create: PUSH_COMMAND,
                environment: {
                    AWS_REGION: a.context.region,
                    REPOSITORY_NAME: repo.name,
                    REPOSITORY_URL: repo.repositoryUrl,
                    IMAGE_TAG: a.tag,
                    CONTEXT: a.buildContext,
                    DOCKERFILE: a.dockerfile ?? `${a.buildContext}/Dockerfile`,
                    PLATFORM: a.platform,
                    BUILD_ARGS: JSON.stringify(a.buildArgs),
                    ...(a.cacheFromTag ? { CACHE_FROM_TAG: a.cacheFromTag } : {}),
                },
                // Runs again only for a new tag or another repository; everything else
                // in the environment follows from the tag.
                triggers: [repo.repositoryUrl, a.tag],
                // Progress on stderr; stdout is the image reference only.
                logging: "stderr",
            },
            parent,
        );

        this.repositoryUrl = repo.repositoryUrl;
        this.repositoryArn = repo.arn;
        this.imageRef = push.stdout.apply(lastImageRef);
        this.ref = { image: this.imageRef, repositoryArn: this.repositoryArn };
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn, imageRef: this.imageRef });
    }
}

/** The push tool's answer: its last stdout line, `<repository url>@sha256:<digest>`. */
export function lastImageRef(stdout: string): string {
    const line = stdout.trim().split("\n").pop() ?? "";
    if (!/^[^@\s]+@sha256:[0-9a-f]{64}$/.test(line)) {
        throw new Error(`the push tool printed no image reference (last line: ${JSON.stringify(line)})`);
    }
    return line;
}
