import { Naming, physicalName } from "../../facts/naming";

/**
 * What GitLab CI and the deploy identity agree on, pure: read by the component
 * (deployIdentity.ts), by the jobs' check (ci/assertTarget.ts) and by the tests
 * that hold `.gitlab-ci.yml` to it.
 */

/** The two CI roles of a stack: `preview` (reads: merge requests, drift) and `deploy` (`pulumi up`). */
export type CiRoleKind = "preview" | "deploy";
export const CI_ROLE_KINDS: readonly CiRoleKind[] = ["preview", "deploy"];

/** IAM's limit on a role name. */
export const ROLE_NAME_MAX = 64;

/** `<project>-<stack>-ci-<kind>`: the role's name, account-wide unique. */
export function ciRoleName(n: Naming, kind: CiRoleKind): string {
    return physicalName(n, `ci-${kind}`, ROLE_NAME_MAX);
}

/**
 * The token audience (`aud`) one role trusts, and only it: the role's own name.
 * A job asks for the audience of the role it uses (`id_tokens` in
 * `.gitlab-ci.yml`, a literal: no variable a pipeline could override), so its
 * token is worth nothing to any other role: `deploy dev`'s token cannot
 * become prod's deployer, `preview prod`'s cannot deploy. The name is also
 * what IAM's OIDC provider lists as a client ID (at most 255 characters; a
 * role name has at most 64).
 */
export function ciAudience(n: Naming, kind: CiRoleKind): string {
    return ciRoleName(n, kind);
}

/**
 * The pipeline's jobs that use a CI role, by name: `<verb> <stack>`. Drift
 * checks read like previews and use the preview role, with its audience: an
 * audience of their own would be one more string the same role trusts, and
 * narrow nothing (docs/decisions/deploy-identity.md).
 */
export const JOB_VERB_ROLE: Readonly<Record<string, CiRoleKind>> = { preview: "preview", drift: "preview", deploy: "deploy" };
