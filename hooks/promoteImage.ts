import { BatchGetImageCommand, DescribeImagesCommand, ECRClient, PutImageCommand } from "@aws-sdk/client-ecr";
import { requiredEnv, runHook } from "./run";

/**
 * Tags the image a promoting stack runs (prod running dev's image by digest,
 * docs/decisions/images.md) in the source repository, so the source's
 * lifecycle keeps it: `promoted-by-<stack>-<tag>` (facts/imageSource.ts) on exactly that
 * digest, by ECR PutImage of the same manifest (no layer moves; IMMUTABLE
 * allows a new tag). Pulumi runs it from a command.local.Command during `pulumi
 * up` (never on a preview):
 *
 *   node_modules/.bin/ts-node --transpile-only tools/promoteImage.ts   (the stable entry point)
 *
 * Idempotent: when ECR refuses the tag as existing (ImageAlreadyExistsException,
 * or ImageTagAlreadyExistsException in an IMMUTABLE repository, whichever it
 * answers to a repeat), the tag is looked up: on the same digest it is success
 * (a re-run after an interrupted `up`), on another it fails naming both (only a
 * push by hand can do that). stdout is the tag.
 */

export interface PromoteInput {
    readonly repository: string;
    readonly digest: string;
    readonly tag: string;
}

export interface EcrApi {
    /** The manifest and its media type of `digest`, or undefined when ECR has no such image. */
    manifest(repository: string, digest: string): Promise<{ manifest: string; mediaType?: string } | undefined>;
    /** PutImage; ECR's error name when it refuses. */
    putImage(repository: string, tag: string, manifest: { manifest: string; mediaType?: string }, digest: string): Promise<string | undefined>;
    /** The digest `tag` names, or undefined. */
    digestOf(repository: string, tag: string): Promise<string | undefined>;
}

/** What ECR may hold under a digest: BatchGetImage answers only in the media types asked for. */
const MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

export async function promote(input: PromoteInput, ecr: EcrApi): Promise<string> {
    const found = await ecr.manifest(input.repository, input.digest);
    if (found === undefined) {
        throw new Error(`${input.repository}@${input.digest} is not in ECR: nothing to promote (deploy the source stack first)`);
    }
    const refused = await ecr.putImage(input.repository, input.tag, found, input.digest);
    if (refused === undefined) {
        return input.tag;
    }
    // The tag exists: promoted already by an earlier run (or its retry) when it names this digest.
    const named = await ecr.digestOf(input.repository, input.tag);
    if (named !== input.digest) {
        throw new Error(`ECR refused ${input.repository}:${input.tag} -> ${input.digest}: ${refused} (the tag names ${named ?? "no image"})`);
    }
    return input.tag;
}

/** The real ECR, in `region`. */
export function ecrApi(region: string): EcrApi {
    const client = new ECRClient({ region });
    return {
        async manifest(repository, digest) {
            const out = await client.send(new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }], acceptedMediaTypes: MANIFEST_TYPES }));
            const image = out.images?.[0];
            if (image?.imageManifest) {
                return { manifest: image.imageManifest, mediaType: image.imageManifestMediaType };
            }
            const failure = out.failures?.[0];
            if (failure && failure.failureCode !== "ImageNotFound") {
                throw new Error(`ECR could not read ${repository}@${digest}: ${failure.failureCode}: ${failure.failureReason}`);
            }
            return undefined;
        },
        async putImage(repository, tag, m, digest) {
            try {
                await client.send(new PutImageCommand({ repositoryName: repository, imageTag: tag, imageManifest: m.manifest, imageManifestMediaType: m.mediaType, imageDigest: digest }));
                return undefined;
            } catch (e) {
                const name = (e as { name?: string }).name;
                if (name === "ImageAlreadyExistsException" || name === "ImageTagAlreadyExistsException") {
                    return name;
                }
                throw e;
            }
        },
        async digestOf(repository, tag) {
            try {
                const out = await client.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }));
                return out.imageDetails?.[0]?.imageDigest;
            } catch (e) {
                if ((e as { name?: string }).name === "ImageNotFoundException") {
                    return undefined;
                }
                throw e;
            }
        },
    };
}

export function run(): void {
    runHook("promote image", async () => {
        const env = requiredEnv(process.env);
        const input = { repository: env("REPOSITORY"), digest: env("DIGEST"), tag: env("TAG") };
        process.stdout.write(`${await promote(input, ecrApi(env("AWS_REGION")))}\n`);
    });
}
