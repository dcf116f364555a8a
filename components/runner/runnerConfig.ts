import { stringify } from "smol-toml";
import { WARM_IDLE_TIME } from "./facts";

/**
 * The runner manager's config.toml as a pure function (gitlab-runner 19,
 * docker-autoscaler executor, fleeting AWS plugin). It holds no secret: the
 * runner authentication token stays `${RUNNER_TOKEN}`, which gitlab-runner
 * expands from the environment (18.10 and later) where ECS puts it from
 * Secrets Manager. Key names: gitlab-runner `common/config.go` and its
 * advanced-configuration docs.
 */

/** The environment variable ECS fills with the runner authentication token (glrt-…). */
export const RUNNER_TOKEN_ENV = "RUNNER_TOKEN";

/**
 * The services allowed to run privileged: Docker's dind images, by tag and
 * pinned by digest. gitlab-runner matches the service's name with doublestar,
 * where `*` stops nowhere but at `/` and must reach the end: `docker:*-dind`
 * alone no longer matches `docker:27.5.1-dind@sha256:…`.
 */
export const DIND_SERVICES = ["docker:*-dind", "docker:*-dind@sha256:*"];

/**
 * Docker Hub's `docker` image by its full name (a job may write it so):
 * gitlab-runner matches the name as written, unnormalized.
 */
const DIND_BY_FULL_NAME = DIND_SERVICES.map((p) => `docker.io/library/${p}`);

/** The fleeting plugin and its major version; the image installs it at build time (runner/Dockerfile). */
export const FLEETING_PLUGIN = "aws:1";

/**
 * The credential helper the manager runs for the account's ECR
 * (`docker-credential-ecr-login`, runner/Dockerfile): gitlab-runner resolves
 * a job image's registry credentials on the manager and hands them to the
 * worker's Docker with the pull, so the workers hold no AWS rights.
 */
export const ECR_CREDENTIAL_HELPER = "ecr-login";

/** The Docker client configuration gitlab-runner reads from DOCKER_AUTH_CONFIG: the helper for one registry host, nothing stored. */
export function dockerAuthConfig(registryHost: string): { credHelpers: Record<string, string> } {
    return { credHelpers: { [registryHost]: ECR_CREDENTIAL_HELPER } };
}

/** Idle workers kept in working hours: the cron periods, their time zone, how many workers. */
export interface WarmPolicy {
    readonly periods: readonly string[];
    readonly timezone: string;
    readonly idleWorkers: number;
}

export interface RunnerConfigArgs {
    /** The name the runner shows in GitLab. */
    readonly name: string;
    /** GitLab's URL. */
    readonly gitlabUrl: string;
    /** The workers' Auto Scaling group (the plugin scales it). */
    readonly autoScalingGroupName: string;
    readonly maxInstances: number;
    readonly capacityPerInstance: number;
    readonly maxUseCount: number;
    readonly idleMinutes: number;
    /** The S3 cache bucket and its region (IAM auth: the manager's task role presigns). */
    readonly cacheBucket: string;
    /** This fleet's prefix in the bucket: the only one its manager's role may use. */
    readonly cachePath: string;
    readonly region: string;
    /** The default job image when a job names none. */
    readonly defaultImage: string;
    /** Docker-in-Docker services may run privileged: only a fleet whose jobs build images. */
    readonly dind: boolean;
    /** Idle workers in working hours; absent: none ever. */
    readonly warm?: WarmPolicy;
    /**
     * The Docker Hub cache, `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>`
     * (what DOCKER_HUB_MIRROR holds): the manager pulls from its host with the
     * credential helper, and Docker's dind image through it may run privileged.
     */
    readonly dockerHubMirror?: string;
}

/**
 * The autoscaler's policies. gitlab-runner uses the last policy whose periods
 * match the time, so the warm one follows the default: in its hours it keeps
 * `idle_count` job slots (idle × capacity per worker) booted and unused;
 * outside them, none. max_use_count stays as configured (1: a worker runs one
 * job and is gone, so no job inherits another's Docker host, files or
 * credentials); a warm worker is simply one booted ahead of its job. The
 * time zone is resolved on the manager: gitlab-runner's alpine image installs
 * tzdata (its dockerfiles/runner/alpine/Dockerfile).
 */
function policies(a: RunnerConfigArgs) {
    const idleTime = `${a.idleMinutes}m0s`;
    const base = { idle_count: 0, idle_time: idleTime };
    if (!a.warm) {
        return [base];
    }
    const warm = { periods: [...a.warm.periods], timezone: a.warm.timezone, idle_count: a.warm.idleWorkers * a.capacityPerInstance, idle_time: WARM_IDLE_TIME };
    return [{ periods: ["* * * * *"], ...base }, warm];
}

/**
 * The job containers' Docker settings. A job's own container is never
 * privileged; with `dind`, only the Docker-in-Docker service is (the image
 * builds), sharing the TLS client certificates with the job in /certs/client.
 */
function dockerSettings(a: RunnerConfigArgs) {
    // The same images by their name in the cache (Docker Hub's `docker` is `library/docker` there).
    const mirrored = a.dockerHubMirror ? DIND_SERVICES.map((p) => `${a.dockerHubMirror}/library/${p}`) : [];
    const dind = a.dind ? { services_privileged: true, allowed_privileged_services: [...DIND_SERVICES, ...DIND_BY_FULL_NAME, ...mirrored] } : { services_privileged: false };
    return { image: a.defaultImage, privileged: false, ...dind, volumes: [...(a.dind ? ["/certs/client"] : []), "/cache"] };
}

/** The structure of config.toml (what `stringify` writes). */
export function runnerConfig(a: RunnerConfigArgs) {
    return {
        // Every worker slot can run a job: the ASG's maximum times each worker's capacity.
        concurrent: a.maxInstances * a.capacityPerInstance,
        check_interval: 3,
        // A forced shutdown's limit. ECS stops the manager with SIGQUIT (the image's
        // STOPSIGNAL): it takes no new jobs and waits for the running ones, until ECS
        // kills the task at its 120 s stop timeout.
        shutdown_timeout: 30,
        runners: [
            {
                name: a.name,
                url: a.gitlabUrl,
                token: `\${${RUNNER_TOKEN_ENV}}`,
                executor: "docker-autoscaler",
                limit: a.maxInstances * a.capacityPerInstance,
                // Read by gitlab-runner on the manager for the job's images (a job's own
                // DOCKER_AUTH_CONFIG replaces it); no secret in it, only the helper's name.
                ...(a.dockerHubMirror ? { environment: [`DOCKER_AUTH_CONFIG=${JSON.stringify(dockerAuthConfig(a.dockerHubMirror.split("/")[0]))}`] } : {}),
                docker: dockerSettings(a),
                cache: {
                    Type: "s3",
                    Path: a.cachePath,
                    Shared: true,
                    s3: {
                        BucketName: a.cacheBucket,
                        BucketLocation: a.region,
                        AuthenticationType: "iam",
                        ServerSideEncryption: "S3",
                    },
                },
                autoscaler: {
                    plugin: FLEETING_PLUGIN,
                    capacity_per_instance: a.capacityPerInstance,
                    max_use_count: a.maxUseCount,
                    max_instances: a.maxInstances,
                    // A worker takes jobs only once its Docker daemon answers.
                    instance_ready_command: "docker info",
                    // The plugin reads the region from AWS_REGION (the task's environment).
                    plugin_config: { name: a.autoScalingGroupName },
                    // SSH as ec2-user with a key pushed by EC2 Instance Connect, to the private address.
                    connector_config: { username: "ec2-user", use_external_addr: false },
                    policy: policies(a),
                },
            },
        ],
    };
}

/** The config.toml text. */
export function renderRunnerConfig(a: RunnerConfigArgs): string {
    return `# Rendered by components/runner/runnerConfig.ts; the token is expanded from the environment.\n${stringify(runnerConfig(a))}\n`;
}
