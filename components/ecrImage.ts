import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { StackContext } from "../aws/context";
import { PROMOTED_TAG_PREFIX } from "../facts/imageSource";
import { physicalName } from "../facts/naming";
import { promotedImage } from "./ecrPromotion";

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
    /**
     * Run stack `promoteFrom`'s image of `tag` by digest instead of building it (prod: dev;
     * components/ecrPromotion.ts). This stack's repository stays, unused by its tasks.
     */
    readonly promoteFrom?: string;
}

/**
 * Lifecycle rules: the images other stacks run from this repository (tagged
 * `promoted-by-*` by their promotion) first, the newest `keep` of them kept: an
 * image a higher-priority rule selects is never expired by a lower one, so the
 * count of other tags cannot remove what prod runs. Then untagged layers go
 * after a day, and only the newest `keep` tagged images stay.
 */
export function lifecyclePolicy(keep: number): string {
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: `keep the last ${keep} images other stacks run (promoted)`,
                selection: { tagStatus: "tagged", tagPatternList: [`${PROMOTED_TAG_PREFIX}*`], countType: "imageCountMoreThan", countNumber: keep },
                action: { type: "expire" },
            },
            {
                rulePriority: 2,
                description: "expire untagged images after 1 day",
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 },
                action: { type: "expire" },
            },
            {
                rulePriority: 3,
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
    /** The repositories a task execution role pulls from: the image's, and for a promoted image also this stack's own (task revisions from before the promotion, a rollback to one, still name it). */
    readonly repositoryArns: pulumi.Output<string>[];
}

/**
 * An ECR repository and the image built from one directory and pushed to it.
 * Consumers get `ref`, the image by digest: a task definition that names a
 * digest runs exactly the bytes that were built, whatever happens to tags.
 *
 * The build is a docker.Image (`<name>-image`) whose inputs are functions of
 * the folder's commit alone: the context is the commit's export (fixed modes
 * and mtimes), the tag and build arguments name the commit, the registry is
 * its host only (the login comes from the deploying machine's Docker config,
 * never from the program, so no credential reaches the state). So an
 * unchanged folder is no change at all, on any machine. The program first asks ECR for the tag
 * (`ecr:DescribeImages`) and SSM for the marker its own push leaves
 * (`/<repository>/built-by-pulumi`, the tag): the build is declared when ECR
 * lacks the tag, and again on every later run while the marker names it (the
 * resource is then in the state and has no diff). A tag ECR has without the
 * marker (a redeploy of an older commit, a retried `up` whose push landed
 * before its state was written, the command-built tags from before) is used
 * by its digest with no build, because a second push into an IMMUTABLE tag
 * fails. On `up`, a build's digest is looked up in ECR (`pushedOnUp`): a build
 * with no diff reports the state's digest, which ECR may have lost.
 * docs/decisions/images.md has the cases.
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
                // Never deleted with its images: another stack may run them by digest
                // (images.promoteFrom: prod runs dev's), so destroying the stack stops at a
                // repository that still holds images (RepositoryNotEmptyException) instead of
                // taking them from under it. Empty it by hand first (docs/decisions/images.md).
                forceDelete: false,
            },
            { parent: this },
        );
        new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, { repository: repo.name, policy: lifecyclePolicy(args.keepTaggedImages) }, { parent: this });

        // Build when ECR lacks the tag, and keep declaring the build while the tag is the one
        // this program built (its marker): only then is the resource in the state, and dropping
        // it would show a delete in every later preview. A tag pushed by anything else (the push
        // command before this, a retried `up` whose push landed before its state was written)
        // has no marker yet and is used as it is: declaring it would push into an IMMUTABLE tag.
        if (args.promoteFrom !== undefined) {
            const promoted = promotedImage(name, args.context, args.promoteFrom, args.tag, isNotThere, this);
            this.imageRef = promoted.image;
            this.repositoryUrl = repo.repositoryUrl;
            this.repositoryArn = repo.arn;
            this.ref = { image: promoted.image, repositoryArns: [promoted.repositoryArn, repo.arn] };
            this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn, imageRef: this.imageRef });
            return;
        }
        const markerName = `/${repositoryName}/built-by-pulumi`;
        const known = pulumi.all([pushedDigest(repositoryName, args.tag, this), builtMarker(markerName, this)]);
        this.imageRef = known.apply(([digest, marker]) => {
            if (digest === undefined) {
                const image = this.build(name, args, repo, markerName);
                return pulumi.all([image.repoDigest, image.urn]).apply(([d, urn]) => pushedOnUp(repositoryName, imageRefOf(d), args.tag, urn, this));
            }
            if (marker === args.tag) {
                this.build(name, args, repo, markerName);
            }
            return pulumi.interpolate`${repo.repositoryUrl}@${digest}`;
        });
        this.repositoryUrl = repo.repositoryUrl;
        this.repositoryArn = repo.arn;
        this.ref = { image: this.imageRef, repositoryArns: [this.repositoryArn] };
        this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn, imageRef: this.imageRef });
    }

    /**
     * The build and push of `args.tag`, and its marker (written once the push is done, so a
     * failed or interrupted push leaves none). Declared on previews too, built on `up` only
     * (`buildOnPreview: false`).
     */
    private build(name: string, args: EcrImageArgs, repo: aws.ecr.Repository, markerName: string): docker.Image {
        const registry = repo.repositoryUrl.apply((url) => url.slice(0, url.indexOf("/")));
        const image = new docker.Image(
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
                // The server only: with no username and password the provider asks the deploying
                // machine's Docker config for the login (pulumi-docker v4.11.2 provider/image.go
                // getRegistryAuth -> GetAuthConfig), which the deploy job points at ECR's credential
                // helper (ci/ecrCredentials.ts). A token here would be stored in the state, which
                // the preview roles may decrypt.
                registry: { server: registry },
                skipPush: false,
                buildOnPreview: false,
            },
            { parent: this },
        );
        new aws.ssm.Parameter(
            `${name}-built`,
            {
                name: markerName,
                type: "String",
                value: args.tag,
                description: `the ${name} image tag this stack's docker.Image pushed (components/ecrImage.ts)`,
                // The name is this stack's own: a marker whose create landed in a run interrupted
                // before its state was written is taken over, not a failed deploy.
                overwrite: true,
            },
            { parent: this, dependsOn: [image] },
        );
        return image;
    }
}

/**
 * On `up`, `ref` once ECR is asked for its digest: the build's `repoDigest` is the
 * state's when the build had no diff, and ECR may have lost that image since (a
 * manual delete, a clean-up, the lifecycle) while the marker still names its tag;
 * a task definition naming it would fail at the next task start, and every later
 * deploy would keep it, so the deploy fails here and names the replace that pushes
 * it again (the tag is absent, so IMMUTABLE allows the push). A fresh push passes.
 * Previews skip it: a new build's digest is unknown there anyway.
 */
async function pushedOnUp(repositoryName: string, ref: string, tag: string, urn: string, parent: pulumi.Resource): Promise<string> {
    if (pulumi.runtime.isDryRun()) {
        return ref;
    }
    const imageDigest = ref.slice(ref.indexOf("@") + 1);
    // ECR documents no read-after-write for DescribeImages: a digest pushed a moment ago
    // is asked again before it counts as lost (lostImageLookup.pausesSeconds, 14 s in all).
    for (const wait of [...lostImageLookup.pausesSeconds, undefined]) {
        try {
            await aws.ecr.getImage({ repositoryName, imageDigest }, { parent });
            return ref;
        } catch (e) {
            if (!isNotThere(String(e))) {
                throw e;
            }
            if (wait !== undefined) {
                await new Promise((r) => setTimeout(r, wait * 1000));
            }
        }
    }
    throw new Error(
        `ECR has no ${repositoryName}@${imageDigest} (tag ${tag}), which this stack's build pushed and still records: if \`aws ecr describe-images --repository-name ${repositoryName} --image-ids imageDigest=${imageDigest}\` finds nothing, run \`pulumi up --replace '${urn}'\` to build and push it again; if it finds it, run the deploy again`,
    );
}

/** Pauses before asking ECR again for a digest just pushed (pushedOnUp); the tests shorten them. */
export const lostImageLookup: { pausesSeconds: readonly number[] } = { pausesSeconds: [2, 4, 8] };

/** The tag this stack's docker.Image last pushed (its SSM marker), or undefined before the first. */
async function builtMarker(name: string, parent: pulumi.Resource): Promise<string | undefined> {
    try {
        return (await aws.ssm.getParameter({ name }, { parent })).value;
    } catch (e) {
        if (isNotThere(String(e))) {
            return undefined;
        }
        throw e;
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
 * "No such thing" as terraform-provider-aws v6 (bundled by @pulumi/aws 7.x) words it:
 * `aws_ecr_image` turns ECR's ImageNotFoundException and RepositoryNotFoundException
 * into "reading ECR Images: couldn't find resource" (internal/service/ecr/
 * image_data_source.go:115, :171-175), an empty answer into "Your query returned no
 * results" (:119); `aws_ssm_parameter` SSM's ParameterNotFound into "reading SSM
 * Parameter (<name>): couldn't find resource" (ssm/parameter_data_source.go:66,
 * parameter.go:362). The exception names are matched too, in case a later version
 * passes them through; no refusal or expiry carries any of these words.
 */
export function isNotThere(message: string): boolean {
    return /ImageNotFoundException|RepositoryNotFoundException|ParameterNotFound|couldn't find resource|query returned no results/.test(message);
}

/** The pushed image by digest, `<repository url>@sha256:<digest>`, checked: a task definition must never name a tag. */
export function imageRefOf(repoDigest: string): string {
    if (!/^[^@\s]+@sha256:[0-9a-f]{64}$/.test(repoDigest)) {
        throw new Error(`the image build reported no digest (repoDigest ${JSON.stringify(repoDigest)})`);
    }
    return repoDigest;
}
