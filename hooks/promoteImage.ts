import { BatchGetImageCommand, ECRClient, PutImageCommand } from "@aws-sdk/client-ecr";
import { requiredEnv, runHook } from "./run";

/**
 * Tags the image a promoting stack runs (prod running dev's image by digest,
 * README "Images": Promotion) in the source repository, so the source's
 * lifecycle keeps it: `promoted-by-<stack>-<tag>` (facts/imageSource.ts) on exactly that
 * digest, by ECR PutImage of the same manifest (no layer moves; IMMUTABLE
 * allows a new tag). Pulumi runs it from a command.local.Command during `pulumi
 * up` (never on a preview):
 *
 *   node_modules/.bin/ts-node --transpile-only tools/promoteImage.ts   (the stable entry point)
 *
 * Idempotent: the same tag already on the same digest is success (ECR answers
 * ImageAlreadyExistsException); the tag on another digest fails (it cannot
 * happen unless someone pushed it by hand). stdout is the tag.
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
}

export async function promote(input: PromoteInput, ecr: EcrApi): Promise<string> {
    const found = await ecr.manifest(input.repository, input.digest);
    if (found === undefined) {
        throw new Error(`${input.repository}@${input.digest} is not in ECR: nothing to promote (deploy the source stack first)`);
    }
    const refused = await ecr.putImage(input.repository, input.tag, found, input.digest);
    // The same tag on the same manifest: an earlier run (or its retry) promoted it already.
    if (refused !== undefined && refused !== "ImageAlreadyExistsException") {
        throw new Error(`ECR refused ${input.repository}:${input.tag} -> ${input.digest}: ${refused}`);
    }
    return input.tag;
}

/** The real ECR, in `region`. */
export function ecrApi(region: string): EcrApi {
    const client = new ECRClient({ region });
    return {
        async manifest(repository, digest) {
            const out = await client.send(new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }));
            const image = out.images?.[0];
            return image?.imageManifest ? { manifest: image.imageManifest, mediaType: image.imageManifestMediaType } : undefined;
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
    };
}

export function run(): void {
    runHook("promote image", async () => {
        const env = requiredEnv(process.env);
        const input = { repository: env("REPOSITORY"), digest: env("DIGEST"), tag: env("TAG") };
        process.stdout.write(`${await promote(input, ecrApi(env("AWS_REGION")))}\n`);
    });
}
