import { stringify } from "smol-toml";

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

/** The fleeting plugin and its major version; the image installs it at build time (runner/Dockerfile). */
export const FLEETING_PLUGIN = "aws:1";

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
}

/**
 * The job containers' Docker settings. A job's own container is never
 * privileged; with `dind`, only the Docker-in-Docker service is (the image
 * builds), sharing the TLS client certificates with the job in /certs/client.
 */
function dockerSettings(a: RunnerConfigArgs) {
    const dind = a.dind ? { services_privileged: true, allowed_privileged_services: DIND_SERVICES } : { services_privileged: false };
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
                    policy: [{ idle_count: 0, idle_time: `${a.idleMinutes}m0s` }],
                },
            },
        ],
    };
}

/** The config.toml text. */
export function renderRunnerConfig(a: RunnerConfigArgs): string {
    return `# Rendered by components/runner/runnerConfig.ts; the token is expanded from the environment.\n${stringify(runnerConfig(a))}\n`;
}
