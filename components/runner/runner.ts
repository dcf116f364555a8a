import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AccessLogTarget, secureBucket } from "../../aws/bucket";
import { StackContext } from "../../aws/context";
import { WarmWindow, warmPeriods } from "../../facts/warmPool";
import { deployFleetName, DEPLOY_WORKERS, RUNNER_COMPONENT_TYPE } from "./facts";
import { FleetWorkers, ImageCache, RunnerPlacement, runnerFleet } from "./fleet";
import { WarmPolicy } from "./runnerConfig";
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

/** Idle workers in working hours: the window (local time in `timezone`) and how many in each fleet. */
export interface WarmPool extends WarmWindow {
    readonly timezone: string;
    /** The general fleet's. */
    readonly idle: number;
    /** The deploy fleet's (0: it stays cold). */
    readonly deployIdle: number;
}

export interface GitLabRunnerArgs extends RunnerPlacement {
    /** The general fleet's workers; the deploy fleet takes their type, disk and idle time, with its own size (DEPLOY_WORKERS). */
    readonly workers: FleetWorkers;
    readonly accessLogs: AccessLogTarget;
    /**
     * The warm pools, one window for both fleets. A warm deploy worker is one
     * fresh, unused host booted ahead of the next deploy: the boot it saves is
     * on the path from a push to the app serving in dev.
     */
    readonly warmPool?: WarmPool;
    /** Pull Docker Hub images through the ECR pull-through cache (the Docker Hub token is in its secret). */
    readonly dockerHubCache: boolean;
}

/** Docker Hub, as ECR's pull-through cache names the upstream (CreatePullThroughCacheRule). */
export const DOCKER_HUB_UPSTREAM = "registry-1.docker.io";

/** The gitlab-runner policy of a warm pool: its cron periods, as gitlab-runner reads them. */
export function warmPolicy(w: WarmPool, idleWorkers: number): WarmPolicy | undefined {
    return idleWorkers > 0 ? { periods: warmPeriods(w), timezone: w.timezone, idleWorkers } : undefined;
}

/**
 * Docker Hub through ECR: a pull-through cache rule with Docker Hub as the
 * upstream, authenticated by an access token in a secret named as ECR
 * requires (`ecr-pullthroughcache/…`), created empty and filled once by an
 * administrator (docs/decisions/runner.md). Docker Hub itself, not ECR Public's copies: the
 * digests the pipeline pins are Docker Hub's (tools/pinImages.ts), every
 * namespace is there (pulumi/…), and pulls count against an account's limit,
 * not the NAT address's anonymous one. ECR reads the secret when it creates
 * the rule, so the rule waits for `enabled` (runner.dockerHubCache).
 */
function dockerHubCache(name: string, context: StackContext, enabled: boolean, parent: pulumi.CustomResourceOptions) {
    // Not under the stack's own `<prefix>-*` names: the deploy role's ECR grant covers those
    // (push, delete), and a job's images must not be writable by a deploy.
    const prefix = `docker-hub/${context.naming.prefix}`;
    if (prefix.length > 30) {
        throw new Error(`runner: the Docker Hub cache's repository prefix ${prefix} is longer than ECR's 30 characters`);
    }
    const credential = new aws.secretsmanager.Secret(
        `${name}-docker-hub`,
        {
            namePrefix: `ecr-pullthroughcache/${context.naming.prefix}-docker-hub-`,
            description: "Docker Hub user and access token (JSON: username, accessToken) of the ECR pull-through cache, stored by an administrator",
            recoveryWindowInDays: 7,
        },
        parent,
    );
    if (!enabled) {
        return { credential, cache: undefined };
    }
    const rule = new aws.ecr.PullThroughCacheRule(`${name}-docker-hub`, { ecrRepositoryPrefix: prefix, upstreamRegistryUrl: DOCKER_HUB_UPSTREAM, credentialArn: credential.arn }, parent);
    const mirror = pulumi.interpolate`${rule.registryId}.dkr.ecr.${context.region}.amazonaws.com/${rule.ecrRepositoryPrefix}`;
    const cache: ImageCache = { mirror, repositoryPrefix: prefix };
    return { credential, cache, mirror };
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
 * component creates empty; tools/runnerToken.ts fills it (docs/decisions/runner.md), so it is
 * never in config or state.
 */
export class GitLabRunner extends pulumi.ComponentResource {
    readonly tokenSecretArn: pulumi.Output<string>;
    readonly autoScalingGroupName: pulumi.Output<string>;
    readonly deployTokenSecretArn: pulumi.Output<string>;
    readonly deployAutoScalingGroupName: pulumi.Output<string>;
    readonly cacheBucket: pulumi.Output<string>;
    readonly serviceName: pulumi.Output<string>;
    /** The secret an administrator stores the Docker Hub token in. */
    readonly dockerHubCredentialArn: pulumi.Output<string>;
    /** What DOCKER_HUB_MIRROR is set to: `<registry>/<prefix>`, so `$DOCKER_HUB_MIRROR/library/node:…` is Docker Hub's `node:…`; absent without the cache. */
    readonly dockerHubMirror?: pulumi.Output<string>;

    constructor(name: string, args: GitLabRunnerArgs, opts?: pulumi.ComponentResourceOptions) {
        super(RUNNER_COMPONENT_TYPE, name, {}, opts);
        const a = args;
        const parent = { parent: this };
        const cache = secureBucket(`${name}-cache`, { versioning: false, protect: false, encryption: "AES256", expireDays: CACHE_EXPIRE_DAYS, accessLogs: a.accessLogs }, parent).bucket;
        const shared: RunnerPlacement & { cache: typeof cache } = { context: a.context, cluster: a.cluster, vpcId: a.vpcId, privateSubnetIds: a.privateSubnetIds, image: a.image, gitlabUrl: a.gitlabUrl, alarmTopicArn: a.alarmTopicArn, cache };
        // The general fleet keeps the names it had as the only runner.
        const hub = dockerHubCache(name, a.context, a.dockerHubCache, parent);
        const warm = a.warmPool && warmPolicy(a.warmPool, a.warmPool.idle);
        const deployWarm = a.warmPool && warmPolicy(a.warmPool, a.warmPool.deployIdle);
        const general = runnerFleet({ ...shared, name, purpose: "general runner", workers: a.workers, dind: DIND.general, cachePath: "general", warm, imageCache: hub.cache }, parent);
        // `runner-deploy` for the stack's runner: the name ci/adminGate.ts guards (facts.ts DEPLOY_RUNNER_NAME).
        const deploy = runnerFleet({ ...shared, name: deployFleetName(name), purpose: "deploy runner", workers: { ...a.workers, ...DEPLOY_WORKERS }, dind: DIND.deploy, cachePath: "deploy", warm: deployWarm, imageCache: hub.cache }, parent);

        this.tokenSecretArn = general.token.arn;
        this.autoScalingGroupName = general.group.name;
        this.deployTokenSecretArn = deploy.token.arn;
        this.deployAutoScalingGroupName = deploy.group.name;
        this.cacheBucket = cache.bucket;
        this.serviceName = general.service.name;
        this.dockerHubCredentialArn = hub.credential.arn;
        this.dockerHubMirror = hub.mirror;
        this.registerOutputs({
            dockerHubCredentialArn: this.dockerHubCredentialArn,
            dockerHubMirror: this.dockerHubMirror,
            tokenSecretArn: this.tokenSecretArn,
            autoScalingGroupName: this.autoScalingGroupName,
            deployTokenSecretArn: this.deployTokenSecretArn,
            deployAutoScalingGroupName: this.deployAutoScalingGroupName,
            cacheBucket: this.cacheBucket,
            serviceName: this.serviceName,
        });
    }
}
