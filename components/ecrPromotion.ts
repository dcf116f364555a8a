import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { StackContext } from "../aws/context";
import { promotedTag } from "../facts/imageSource";
import { naming, physicalName } from "../facts/naming";

/** The promotion hook's stable entry point (hooks/promoteImage.ts); its path is part of each command's inputs. */
export const PROMOTE_COMMAND = "node_modules/.bin/ts-node --transpile-only tools/promoteImage.ts";

/** Another stack's image of one tag, as this stack runs it. */
export interface PromotedImage {
    /** `<source repository url>@sha256:...`, once the promotion tag protects it. */
    readonly image: pulumi.Output<string>;
    /** The source repository: the one the task execution roles may pull from. */
    readonly repositoryArn: pulumi.Output<string>;
}

/**
 * The image of `tag` that stack `source` built, run here by digest instead of
 * built again (images.promoteFrom; docs/decisions/images.md): the same bytes
 * the source stack ran. ECR is asked for the tag in the source's repository
 * (`<project>-<source>-<name>`); without it `up` fails ("deploy <source> first")
 * and a preview shows the image unknown. `<name>-promote` then tags that digest `promoted-by-<stack>-<tag>`
 * in the source repository (hooks/promoteImage.ts, ECR PutImage of the same
 * manifest), which the source's lifecycle keeps first; the image reference
 * waits for it, so no task definition names the digest before it is kept.
 */
export function promotedImage(name: string, context: StackContext, source: string, tag: string, isNotThere: (message: string) => boolean, parent: pulumi.Resource): PromotedImage {
    const repositoryName = physicalName(naming(context.naming.project, source), name);
    const found = pulumi.output(
        aws.ecr.getImage({ repositoryName, imageTag: tag }, { parent }).catch((e: unknown) => {
            if (!isNotThere(String(e))) {
                throw e;
            }
            // A preview may run before the source has pushed this commit's tag (prod's preview
            // starts with the pipeline; a merge request's commit is never in dev): the image is
            // unknown there, as a new build's is. `up` refuses.
            if (pulumi.runtime.isDryRun()) {
                pulumi.log.warn(`${repositoryName}:${tag} is not in ECR yet: this preview shows ${name}'s image as unknown; deploy ${source} first`, parent);
                return undefined;
            }
            throw new Error(`${repositoryName}:${tag} is not in ECR: deploy ${source} first (this stack runs ${source}'s images, images.promoteFrom)`);
        }),
    );
    const promotion = new command.local.Command(
        `${name}-promote`,
        {
            create: PROMOTE_COMMAND,
            environment: { AWS_REGION: context.region, REPOSITORY: repositoryName, DIGEST: found.apply((f) => orUnknown(f?.imageDigest)), TAG: promotedTag(context.naming.stack, tag) },
            // Progress on stderr; stdout is the tag.
            logging: "stderr",
        },
        { parent },
    );
    return {
        image: pulumi.all([found, promotion.stdout]).apply(([f]) => orUnknown(f?.imageUri)),
        repositoryArn: pulumi.interpolate`arn:aws:ecr:${context.region}:${context.accountId}:repository/${repositoryName}`,
    };
}

/** `value`, or a value the engine shows as unknown (a preview's "known after apply"). */
function orUnknown(value: string | undefined): pulumi.Output<string> {
    return value === undefined ? (pulumi.output(pulumi.unknown) as unknown as pulumi.Output<string>) : pulumi.output(value);
}
