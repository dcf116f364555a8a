import { z } from "zod";

/** The `platform:images` section: what every image is built for, and how many ECR keeps. */

export const imagesSchema = z.strictObject({
    /** Build platform of every image, and the runtime platform of the tasks that run them. */
    platform: z.enum(["linux/amd64", "linux/arm64"]).default("linux/amd64"),
    /** Tagged images kept per repository; older ones expire (untagged ones after a day). */
    keepTaggedImages: z.number().int().min(1).max(1000).default(30),
    /**
     * Run another stack's images (same account and region) by digest instead of building
     * them: the folder's tag in `<project>-<stack>-<image>` (prod: `dev`). Absent: build.
     * The runner's image is built wherever it runs (dev has none).
     */
    promoteFrom: z.string().regex(/^[a-z0-9]{1,20}$/, "a stack name").optional(),
});

/** A stack never promotes from itself: it would wait for its own build, which it never declares. */
export function imagesRules(images: { promoteFrom?: string }, stack: string): string[] {
    return images.promoteFrom === stack ? [`images.promoteFrom: ${JSON.stringify(stack)} is this stack; name the stack whose images this one runs (e.g. dev), or leave it unset to build`] : [];
}

export type ImagesConfig = z.output<typeof imagesSchema>;
