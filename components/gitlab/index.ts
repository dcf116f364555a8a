/**
 * GitLab CE on ECS: the package's only entry point. Two topologies (single.ts,
 * split.ts) behind one component (gitlab.ts), the Gitaly host for the split
 * topology on EBS (gitalyHost.ts), and the facts the config schema checks
 * against (facts.ts). types.ts holds the types the package's files share;
 * kit.ts what every task is built with.
 */
export { GitLab } from "./gitlab";
export { GitLabArgs } from "./types";
export { GitalyHost, GitalyHostArgs } from "./gitalyHost";
export { connectionDemand, DEPLOY_MAXIMUM_PERCENT, gitlabDatabaseParameters } from "./facts";
