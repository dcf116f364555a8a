/** A self-hosted GitLab Runner: the manager on Fargate and its autoscaled EC2 workers (runner.ts), its config.toml (runnerConfig.ts). */
export { GitLabRunner, GitLabRunnerArgs } from "./runner";
