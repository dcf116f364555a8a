/** A self-hosted GitLab Runner: a general and a deploy fleet (runner.ts), each a manager on Fargate with autoscaled EC2 workers (fleet.ts), its config.toml (runnerConfig.ts). */
export { GitLabRunner, GitLabRunnerArgs } from "./runner";
