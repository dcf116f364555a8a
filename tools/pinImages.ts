import * as fs from "fs";
import * as path from "path";
import { IMAGE_FILES, ImageRef, imageRefs, imageTable, isPinned, pin, registryOf, tagOf } from "../facts/imagePins";
import { runHook } from "../hooks/run";
import { parseCli, TS_NODE } from "./cli";
import { refreshBlock } from "./docBlocks";

/** Where the table of images and their digests is (tools/docs.ts writes it too). */
export const IMAGES_DOC = "docs/operations/ci-setup.md";
export const IMAGES_BLOCK = "images";

/** Every external image reference the files under `root` name. */
export function committedImageRefs(root: string): ImageRef[] {
    return IMAGE_FILES.flatMap((f) => imageRefs(f, fs.readFileSync(path.join(root, f), "utf8")));
}

/**
 * Pins every external image this repository names by digest (facts/imagePins.ts):
 * asks each image's registry (the Docker Registry HTTP API v2, with the
 * anonymous bearer token Docker Hub and most registries hand out) which
 * digest its tag names now, and writes `name:tag@sha256:…` into the file.
 * Run by an operator with network access, then reviewed as a merge request
 * like any code change; docs/operations/ci-setup.md, "Images and their digests".
 *
 *   node_modules/.bin/ts-node --transpile-only tools/pinImages.ts            # the images named by tag only
 *   node_modules/.bin/ts-node --transpile-only tools/pinImages.ts --refresh  # every image, to take a rebuilt tag
 *
 * The digest asked for is the tag's manifest list (OCI index) when it has
 * one, so one digest serves both architectures the workers may have.
 */

const ACCEPT = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

type Fetch = typeof fetch;

/** `Bearer realm="…",service="…",scope="…"` into its parts. */
function challenge(header: string): Record<string, string> {
    return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

/**
 * The digest a tag names now. `endpoint` maps a registry host to its base URL
 * (https://host, or a test's server).
 */
export async function resolveDigest(ref: string, http: Fetch = fetch, endpoint = (host: string) => `https://${host}`): Promise<string> {
    const { host, repository, tag } = registryOf(ref);
    const url = `${endpoint(host)}/v2/${repository}/manifests/${tag}`;
    let r = await http(url, { method: "HEAD", headers: { Accept: ACCEPT } });
    if (r.status === 401) {
        const c = challenge(r.headers.get("www-authenticate") ?? "");
        if (!c.realm) {
            throw new Error(`${ref}: the registry asks for credentials this tool has none of`);
        }
        const query = new URLSearchParams({ ...(c.service ? { service: c.service } : {}), scope: c.scope ?? `repository:${repository}:pull` });
        const t = await http(`${c.realm}?${query}`);
        if (!t.ok) {
            throw new Error(`${ref}: token: HTTP ${t.status}`);
        }
        const body = (await t.json()) as { token?: string; access_token?: string };
        r = await http(url, { method: "HEAD", headers: { Accept: ACCEPT, Authorization: `Bearer ${body.token ?? body.access_token}` } });
    }
    const digest = r.headers.get("docker-content-digest");
    if (!r.ok || !digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
        throw new Error(`${ref}: HTTP ${r.status}, digest ${digest ?? "none"}`);
    }
    return digest;
}

/** Pins the files under `root`; returns what it changed, as `file: old -> new`. */
export async function pinImages(root: string, opts: { refresh?: boolean; http?: Fetch; endpoint?: (host: string) => string } = {}): Promise<string[]> {
    const changes: string[] = [];
    const digests = new Map<string, string>();
    for (const file of IMAGE_FILES) {
        const full = path.join(root, file);
        let text = fs.readFileSync(full, "utf8");
        for (const { ref } of imageRefs(file, text)) {
            if (isPinned(ref) && !opts.refresh) {
                continue;
            }
            const tag = tagOf(ref);
            if (!digests.has(tag)) {
                digests.set(tag, await resolveDigest(tag, opts.http, opts.endpoint));
            }
            const next = pin(text, ref, digests.get(tag)!);
            if (next !== text) {
                changes.push(`${file}: ${ref} -> ${tag}@${digests.get(tag)}`);
                text = next;
            }
        }
        fs.writeFileSync(full, text);
    }
    return changes;
}

if (require.main === module) {
    const { values } = parseCli({
        name: "pinImages",
        usage: [`usage: ${TS_NODE} tools/pinImages.ts [--refresh]`, "  --refresh  every image, to take a rebuilt tag (default: the images named by tag only)"].join("\n"),
        options: { refresh: { type: "boolean" } },
    });
    runHook("pinImages", async () => {
        const root = path.join(__dirname, "..");
        const changes = await pinImages(root, { refresh: values.refresh === true });
        refreshBlock(path.join(root, IMAGES_DOC), IMAGES_BLOCK, imageTable(committedImageRefs(root)));
        process.stdout.write(changes.length > 0 ? `${changes.join("\n")}\n` : "every image is pinned\n");
    });
}
