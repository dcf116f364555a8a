import * as pulumi from "@pulumi/pulumi";
import { AccessLogTarget, secureBucket } from "../../aws/bucket";
import { deployFleetName, DEPLOY_WORKERS, RUNNER_COMPONENT_TYPE } from "./facts";
import { FleetWorkers, RunnerPlacement, runnerFleet } from "./fleet";
import { CACHE_EXPIRE_DAYS } from "./sizing";

export { CACHE_EXPIRE_DAYS, DEFAULT_JOB_IMAGE, MANAGER_SIZE, WORKER_USER_DATA, workerAmi } from "./sizing";

/**
 * Which fleet may run Docker-in-Docker privileged: only where a job builds
 * images. The general fleet builds the CI tools image (`ci tools image`), the
 * deploy fleet the stack's images (`deploy dev`, `deploy prod`); the test
 * job's service is PostgreSQL. tests/runner.test.ts checks these against the
 * jobs .gitlab-ci.yml sends to each fleet.
 */
export const DIND = { general: true, deploy: true } as const;

export interface GitLabRunnerArgs extends RunnerPlacement {
    /** The general fleet's workers; the deploy fleet takes their type, disk and idle time, with its own size (DEPLOY_WORKERS). */
    readonly workers: FleetWorkers;
    readonly accessLogs: AccessLogTarget;
}

/**
 * A self-hosted GitLab Runner in two fleets, each one manager on Fargate
 * (gitlab-runner with the docker-autoscaler executor and the fleeting AWS
 * plugin) that scales its own Auto Scaling group of EC2 Docker hosts from
 * zero, reaching them over SSH with keys pushed by EC2 Instance Connect:
 *
 * - the general fleet (`runner`): every untagged job of any project;
 * - the deploy fleet (`runner-deploy`): only this project's jobs tagged
 *   `platform-deploy` on protected refs, in security groups of its own,
 *   so no job of the general fleet shares a host, a network rule or a
 *   cache prefix with a deploy, and a deploy never runs on the fleet it may
 *   be updating.
 *
 * Each fleet's authentication token lives in a Secrets Manager secret this
 * component creates empty; tools/runnerToken.ts fills it (README), so it is
 * never in config or state.
 */
export class GitLabRunner extends pulumi.ComponentResource {
    readonly tokenSecretArn: pulumi.Output<string>;
    readonly autoScalingGroupName: pulumi.Output<string>;
    readonly deployTokenSecretArn: pulumi.Output<string>;
    readonly deployAutoScalingGroupName: pulumi.Output<string>;
    readonly cacheBucket: pulumi.Output<string>;
    readonly serviceName: pulumi.Output<string>;

    constructor(name: string, args: GitLabRunnerArgs, opts?: pulumi.ComponentResourceOptions) {
        super(RUNNER_COMPONENT_TYPE, name, {}, opts);
        const a = args;
        const parent = { parent: this };
        const cache = secureBucket(`${name}-cache`, { versioning: false, protect: false, encryption: "AES256", expireDays: CACHE_EXPIRE_DAYS, accessLogs: a.accessLogs }, parent).bucket;
        const shared: RunnerPlacement & { cache: typeof cache } = { context: a.context, cluster: a.cluster, vpcId: a.vpcId, privateSubnetIds: a.privateSubnetIds, image: a.image, gitlabUrl: a.gitlabUrl, alarmTopicArn: a.alarmTopicArn, cache };
        // The general fleet keeps the names it had as the only runner.
        const general = runnerFleet({ ...shared, name, purpose: "general runner", workers: a.workers, dind: DIND.general, cachePath: "general" }, parent);
        // `runner-deploy` for the stack's runner: the name ci/adminGate.ts guards (facts.ts DEPLOY_RUNNER_NAME).
        const deploy = runnerFleet({ ...shared, name: deployFleetName(name), purpose: "deploy runner", workers: { ...a.workers, ...DEPLOY_WORKERS }, dind: DIND.deploy, cachePath: "deploy" }, parent);

        this.tokenSecretArn = general.token.arn;
        this.autoScalingGroupName = general.group.name;
        this.deployTokenSecretArn = deploy.token.arn;
        this.deployAutoScalingGroupName = deploy.group.name;
        this.cacheBucket = cache.bucket;
        this.serviceName = general.service.name;
        this.registerOutputs({
            tokenSecretArn: this.tokenSecretArn,
            autoScalingGroupName: this.autoScalingGroupName,
            deployTokenSecretArn: this.deployTokenSecretArn,
            deployAutoScalingGroupName: this.deployAutoScalingGroupName,
            cacheBucket: this.cacheBucket,
            serviceName: this.serviceName,
        });
    }
}
