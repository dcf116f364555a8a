/**
 * GitLab CE on ECS: the package's only entry point. Two topologies (single.ts,
 * split.ts) behind one component (gitlab.ts), the Gitaly host for the split
 * topology on EBS (gitalyHost.ts), and the facts the config schema checks
 * against (facts.ts).
 */
export { GitLab, GitLabArgs } from "./gitlab";
export { GitalyHost, GitalyHostArgs } from "./gitalyHost";
export { GITLAB_DATABASE_PARAMETERS } from "./facts";
