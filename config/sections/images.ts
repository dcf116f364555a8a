import { z } from "zod";

/** The `platform:images` section: what every image is built for, and how many ECR keeps. */

export const imagesSchema = z.strictObject({
    /** Build platform of every image, and the runtime platform of the tasks that run them. */
    platform: z.enum(["linux/amd64", "linux/arm64"]).default("linux/amd64"),
    /** Tagged images kept per repository; older ones expire (untagged ones after a day). */
    keepTaggedImages: z.number().int().min(1).max(1000).default(30),
});

export type ImagesConfig = z.output<typeof imagesSchema>;
