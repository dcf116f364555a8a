import { Git } from "./imageSource";

/** A full commit id (SHA-1, or SHA-256 in a repository that uses it). */
const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The commit a deploy applies, as the `deployedSha` stack output: GitLab's
 * CI_COMMIT_SHA in a pipeline, else the checkout's HEAD (a workstation).
 * ci/ancestry.ts compares the next deploy's HEAD with it, so no deploy moves a
 * stack to a commit older than the one it runs. The offline engine
 * (sim/harness.ts) sets CI_COMMIT_SHA to a fixed value, so the plan does not
 * change with every commit.
 */
export function deployedCommit(ciCommitSha: string | undefined, git: Git): string {
    const sha = ciCommitSha?.trim() || git(["rev-parse", "HEAD"]);
    if (!COMMIT.test(sha)) {
        throw new Error(`deployedSha: ${JSON.stringify(sha)} is not a full commit id (from CI_COMMIT_SHA, else git rev-parse HEAD)`);
    }
    return sha;
}
