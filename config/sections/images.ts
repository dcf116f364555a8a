import { z } from "zod";

/** The `platform:images` section. */

export const imagesSchema = z.strictObject({
    platform: z
        .enum(["linux/amd64", "linux/arm64"])
        .default("linux/amd64")
        .describe("Build platform of every image, and the runtime platform of the tasks that run them; app.spot needs linux/amd64, and an ebs Gitaly's gitlab.gitaly.instanceType must match it."),
    keepTaggedImages: z.number().int().min(1).max(1000).default(30).describe("Tagged images kept per repository; older ones expire (untagged ones after a day)."),
    /** The name is the `<stack>` of the other stack's repositories, `<project>-<stack>-<image>`. */
    promoteFrom: z
        .string()
        .regex(/^[a-z0-9]{1,20}$/, "a stack name")
        .optional()
        .describe("Another stack (same account and region, not this one) whose images this stack runs by digest instead of building them, e.g. dev for prod; unset: build. The runner's image is built wherever the runner runs (docs/decisions/images.md)."),
}).describe("What every image is built for, how many ECR keeps, and whether this stack builds them or runs another stack's.");

/** A stack never promotes from itself: it would wait for its own build, which it never declares. */
export function imagesRules(images: { promoteFrom?: string }, stack: string): string[] {
    return images.promoteFrom === stack ? [`images.promoteFrom: ${JSON.stringify(stack)} is this stack; name the stack whose images this one runs (e.g. dev), or leave it unset to build`] : [];
}

export type ImagesConfig = z.output<typeof imagesSchema>;
