import { createHash } from "crypto";

/**
 * Where an image's identity comes from: its own build context, not the
 * repository's HEAD. A commit that does not touch `app/` leaves the app
 * image's tag, build arguments and digest as they were, so Pulumi sees no
 * change: nothing is rebuilt, pushed or redeployed. (With HEAD as the tag,
 * every commit rebuilt and restarted every service.)
 */

/**
 * Runs git with the given arguments (in the project directory) and returns its
 * trimmed stdout, or throws. Passed in, so this file stays pure: hooks/git.ts
 * runs the real one, the tests a table of answers.
 */
export type Git = (args: readonly string[]) => string;

const SHORT = 8;

export type Arch = "amd64" | "arm64";

export interface ImageSource {
    /** The last commit that touched the context (8 hex digits): what /version shows. */
    readonly commit: string;
    /** The same commit in full: what the build context is exported from (hooks/buildContext.ts). */
    readonly sha: string;
    /** The hash of the context's uncommitted changes, when it has any (the tag carries it too). */
    readonly dirty?: string;
    /** That commit's time (ISO 8601): the image's build time, the same on every machine. */
    readonly commitTime: string;
    /**
     * The ECR tag: `<commit>-<arch>`, or `<commit>-dirty-<hash>-<arch>` when the
     * context has uncommitted changes. It names every input of the build (the
     * context's content, the build arguments derived from the commit, the
     * platform), so one tag never needs two different images.
     */
    readonly tag: string;
    /** The tag of the image before this one (the previous commit that touched the context): layer cache. */
    readonly cacheFromTag?: string;
}

/**
 * The identity of the image built from `context` (a directory relative to
 * the project) for `arch`. Fails clearly when git cannot tell: no checkout, a
 * context no commit touches, or a shallow clone whose history stops before
 * the context's last change (CI: fetch full history, `GIT_DEPTH: 0`).
 */
export function imageSource(context: string, arch: Arch, git: Git): ImageSource {
    const fail = (why: string): never => {
        throw new Error(`cannot tag the ${context} image: ${why}`);
    };
    let log: string;
    try {
        log = git(["log", "-2", "--format=%H %cI", "--", context]);
    } catch {
        return fail(`\`git log -- ${context}\` failed (run from a git checkout with at least one commit)`);
    }
    const [last, previous] = log.split("\n").filter(Boolean).map((line) => line.split(" "));
    if (!last) {
        return fail(`no commit touches ${context}/ (commit it first)`);
    }
    const [sha, commitTime] = last;
    // In a shallow clone the oldest commit fetched shows no parents, whatever it
    // really had: `git log -- <dir>` then names it as the last change to every
    // file, and the tag would depend on the clone depth.
    if (git(["rev-parse", "--is-shallow-repository"]) === "true" && git(["rev-list", "--parents", "-n", "1", sha]).split(" ").length === 1) {
        return fail(`the clone is shallow and its history ends before ${context}/ last changed (fetch full history: git fetch --unshallow, or GIT_DEPTH: 0 in CI)`);
    }
    const commit = sha.slice(0, SHORT);
    const dirty = uncommittedHash(context, git);
    return {
        commit,
        sha,
        ...(dirty ? { dirty } : {}),
        commitTime,
        tag: `${commit}${dirty ? `-dirty-${dirty}` : ""}-${arch}`,
        cacheFromTag: previous ? `${previous[0].slice(0, SHORT)}-${arch}` : undefined,
    };
}

/**
 * A hash of the context's uncommitted changes (tracked and untracked files),
 * or undefined for a clean context. The same changes always give the same
 * hash, so a rebuilt dirty tree reuses its tag; different changes never do.
 */
function uncommittedHash(context: string, git: Git): string | undefined {
    if (!git(["status", "--porcelain", "--untracked-files=all", "--", context])) {
        return undefined;
    }
    const untracked = git(["ls-files", "--others", "--exclude-standard", "--", context]).split("\n").filter(Boolean);
    return createHash("sha256")
        .update(git(["diff", "HEAD", "--binary", "--", context]))
        .update("\0")
        .update(untracked.length > 0 ? git(["hash-object", "--", ...untracked]) : "")
        .digest("hex")
        .slice(0, SHORT);
}

/** The tag's architecture for a Docker platform string. */
/**
 * Every tag a promoting stack adds in the source repository starts so, and the
 * source's lifecycle keeps those images first (components/ecrImage.ts
 * lifecyclePolicy): one fixed prefix, so the source need not know which stacks
 * promote from it.
 */
export const PROMOTED_TAG_PREFIX = "promoted-by-";

/** The tag `stack` adds to the image of `tag` it runs from another stack's repository. */
export function promotedTag(stack: string, tag: string): string {
    return `${PROMOTED_TAG_PREFIX}${stack}-${tag}`;
}

export function archOf(platform: "linux/amd64" | "linux/arm64"): Arch {
    return platform === "linux/arm64" ? "arm64" : "amd64";
}
