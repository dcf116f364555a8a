/**
 * Every external container image this repository names, and whether it is
 * pinned by digest: `name:tag@sha256:<64 hex>` (the tag for the reader, the
 * digest for the registry, which serves exactly that content). A tag alone
 * names whatever was last pushed under it. tools/pinImages.ts resolves the
 * digests and writes them in; docs/operations/ci-setup.md ("Images and their
 * digests") lists the images still named by tag only, and
 * tests/imagePins.test.ts holds the two together.
 */

/** The files that name external images, and how each names them. */
export const IMAGE_FILES = [".gitlab-ci.yml", "ci/Dockerfile", "ci/test.Dockerfile", "runner/Dockerfile", "gitlab/Dockerfile", "app/Dockerfile", "components/runner/sizing.ts"] as const;

export interface ImageRef {
    readonly file: string;
    /** 1-based. */
    readonly line: number;
    /** As written: `name:tag` or `name:tag@sha256:…`. */
    readonly ref: string;
}

const DIGEST = /@sha256:[0-9a-f]{64}$/;
/** A reference with a name, a tag and a digest (tags say what it is; the digest decides). */
const PINNED = /^[a-z0-9][a-z0-9._/:-]*:[\w][\w.-]{0,127}@sha256:[0-9a-f]{64}$/;

export function isPinned(ref: string): boolean {
    return PINNED.test(ref);
}

/** A pipeline image variable's Docker Hub name: `$DOCKER_HUB_MIRROR/library/node:…` is `node:…` (the mirror serves Docker Hub's content). */
export function withoutMirror(ref: string): string {
    return ref.replace(/^\$DOCKER_HUB_MIRROR\/(?:library\/)?/, "");
}

/** The reference without its digest. */
export function tagOf(ref: string): string {
    return ref.replace(DIGEST, "");
}

/**
 * The image references in one file's text: a Dockerfile's FROM lines (not a
 * build stage's name, not an ARG) and ARG …IMAGE defaults; .gitlab-ci.yml's
 * top-level …_IMAGE variables naming an external image (an anchor aside; no `$` but the
 * Docker Hub mirror's prefix, `$DOCKER_HUB_MIRROR/library/`, which is dropped); a
 * TypeScript constant …IMAGE…= "…".
 */
export function imageRefs(file: string, text: string): ImageRef[] {
    const refs: ImageRef[] = [];
    const stages = new Set<string>();
    text.split("\n").forEach((l, i) => {
        const add = (ref: string) => refs.push({ file, line: i + 1, ref });
        if (file.endsWith("Dockerfile")) {
            const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(l);
            if (from) {
                if (!from[1].includes("$") && !stages.has(from[1])) {
                    add(from[1]);
                }
                if (from[2]) {
                    stages.add(from[2]);
                }
            }
            const arg = /^ARG\s+\w*IMAGE\w*=(\S+)/.exec(l);
            if (arg) {
                add(arg[1]);
            }
        } else if (file.endsWith(".gitlab-ci.yml")) {
            const v = /^ {2}[A-Z_]+_IMAGE: (?:&[\w-]+ )?(\S+)$/.exec(l);
            const ref = v && withoutMirror(v[1]);
            if (ref && /^[^$&*]/.test(ref) && !ref.includes("$")) {
                add(ref);
            }
        } else {
            const c = /^export const \w*IMAGE\w* = "([^"]+)";/.exec(l);
            if (c) {
                add(c[1]);
            }
        }
    });
    return refs;
}

/** The text with one reference (pinned or not) pinned to `digest` wherever it is named as a whole word. */
export function pin(text: string, ref: string, digest: string): string {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
        throw new Error(`not a digest: ${digest}`);
    }
    const tag = tagOf(ref).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    return text.replace(new RegExp(`(?<=^|[\\s"=]|\\$DOCKER_HUB_MIRROR/library/|\\$DOCKER_HUB_MIRROR/)${tag}(@sha256:[0-9a-f]{64})?(?=$|[\\s"])`, "gm"), `${tagOf(ref)}@${digest}`);
}

/** Where a reference's registry API is: Docker Hub's names are short (`node`, `gitlab/gitlab-ce`). */
export function registryOf(ref: string): { host: string; repository: string; tag: string } {
    const name = tagOf(ref);
    const colon = name.lastIndexOf(":");
    const [path, tag] = colon > name.lastIndexOf("/") ? [name.slice(0, colon), name.slice(colon + 1)] : [name, "latest"];
    const first = path.split("/")[0];
    if (path.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
        return { host: first, repository: path.slice(first.length + 1), tag };
    }
    return { host: "registry-1.docker.io", repository: path.includes("/") ? path : `library/${path}`, tag };
}

/**
 * The table of every external image, where it is named and its digest or
 * "pending" (docs/operations/ci-setup.md, between its `images` markers):
 * `npm run docs` and tools/pinImages.ts write it, tests/imagePins.test.ts compares it.
 */
export function imageTable(refs: readonly ImageRef[]): string {
    const byTag = new Map<string, ImageRef[]>();
    for (const r of refs) {
        byTag.set(tagOf(r.ref), [...(byTag.get(tagOf(r.ref)) ?? []), r]);
    }
    const rows = [...byTag].map(([tag, named]) => {
        const digests = [...new Set(named.map((r) => (isPinned(r.ref) ? r.ref.slice(tag.length + 1) : "pending")))];
        return `| \`${tag}\` | ${[...new Set(named.map((r) => `\`${r.file}\``))].join(", ")} | ${digests.map((d) => (d === "pending" ? d : `\`${d.slice(0, 19)}…\``)).join(", ")} |`;
    });
    return ["| image | named in | digest |", "|---|---|---|", ...rows].join("\n");
}
