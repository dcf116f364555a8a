import { execFileSync } from "child_process";
import { createHash } from "crypto";

/**
 * Where image tags come from. Tags are commit SHAs (8 hex digits, GitLab's
 * CI_COMMIT_SHORT_SHA length) so an image in ECR names the commit it was built from.
 */

export type Env = Readonly<Record<string, string | undefined>>;
/** Runs git with the given arguments and returns its trimmed stdout, or throws. */
export type Git = (args: readonly string[]) => string;

export const realGit: Git = (args) =>
    execFileSync("git", [...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();

const SHORT = 8;
const ZERO_SHA = /^0+$/;

/**
 * CI_COMMIT_SHORT_SHA in GitLab CI, else `git rev-parse --short=8 HEAD`, else
 * a clear error. A working tree with uncommitted changes gets
 * `<sha>-dirty-<hash of the changes>`: tags are immutable, so rebuilding
 * different bytes under the bare commit tag would fail to push, and the same
 * changes always map to the same tag.
 */
export function commitTag(env: Env, git: Git): string {
    const ci = env.CI_COMMIT_SHORT_SHA?.trim();
    if (ci) {
        return ci;
    }
    let sha: string;
    try {
        sha = git(["rev-parse", `--short=${SHORT}`, "HEAD"]);
    } catch {
        throw new Error(
            "cannot tag images: CI_COMMIT_SHORT_SHA is not set and `git rev-parse --short=8 HEAD` failed " +
                "(run from a git checkout with at least one commit, or set CI_COMMIT_SHORT_SHA)",
        );
    }
    const changes = git(["status", "--porcelain", "--untracked-files=all"]);
    if (!changes) {
        return sha;
    }
    const untracked = git(["ls-files", "--others", "--exclude-standard"]).split("\n").filter(Boolean);
    const digest = createHash("sha256")
        .update(git(["diff", "HEAD", "--binary"]))
        .update("\0")
        .update(untracked.length > 0 ? git(["hash-object", "--", ...untracked]) : "")
        .digest("hex");
    return `${sha}-dirty-${digest.slice(0, SHORT)}`;
}

/**
 * The tag of the image built from the parent commit, used as build cache.
 * With immutable tags there is no moving `latest` to cache from; the parent
 * commit's image is the repository's previous image on a linear main branch.
 * Undefined when unknown (first commit, new branch): the build then runs cold.
 */
export function previousTag(env: Env, git: Git): string | undefined {
    const before = env.CI_COMMIT_BEFORE_SHA?.trim();
    if (before && !ZERO_SHA.test(before)) {
        return before.slice(0, SHORT);
    }
    try {
        return git(["rev-parse", `--short=${SHORT}`, "HEAD~1"]);
    } catch {
        return undefined;
    }
}

/**
 * The commit's timestamp (ISO 8601), baked into images as their build time.
 * Deterministic per commit, unlike the wall clock, so re-running `pulumi up`
 * on the same commit does not rebuild and redeploy an identical image.
 */
export function commitTime(env: Env, git: Git): string {
    const ci = env.CI_COMMIT_TIMESTAMP?.trim();
    if (ci) {
        return ci;
    }
    try {
        return git(["show", "-s", "--format=%cI", "HEAD"]);
    } catch {
        return "unknown";
    }
}

/**
 * Whether a `pulumi preview` builds images (never pushes: the docker provider
 * only pushes on update). Off by default so a merge-request preview needs no
 * Docker engine; PLATFORM_BUILD_ON_PREVIEW=true turns it on to catch a broken
 * Dockerfile before merge.
 */
export function buildOnPreview(env: Env): boolean {
    return env.PLATFORM_BUILD_ON_PREVIEW === "true";
}
