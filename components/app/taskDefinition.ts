import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { secretRefs, TaskRoles, taskRoles } from "../../aws/ecsTask";
import { awslogs } from "../../aws/logs";
import { backendKeepAliveSeconds } from "../../facts/rollout";
import { WEB_CONTAINER_CHECK, webConcurrency } from "./facts";
import { AppSettings } from "./types";

/*
 * The app's task: its two roles, and a definition with a migration init
 * container and the web container it starts once migrations are done.
 */

const MIGRATE = "migrate";
/** The container the service routes to (and ECS Exec's target). */
export const WEB = "web";
/** RDS's CA bundle in the app image (app/certs, refreshed with GitLab's by gitlab/update-rds-ca.sh). */
export const APP_RDS_CA_BUNDLE = "/app/certs/rds-global-bundle.pem";

/** What the task reads and writes that the component makes before it. */
export interface TaskResources {
    readonly mediaBucket: aws.s3.Bucket;
    /** The Django SECRET_KEY's secret (JSON key `key`). */
    readonly secretKeyArn: pulumi.Input<string>;
    /** The first Django superuser's secret (JSON keys `username`, `password`): the migrate step's only. */
    readonly adminSecretArn: pulumi.Input<string>;
    readonly logGroup: aws.cloudwatch.LogGroup;
}

/** The execution role (image, secrets, logs) and the task role: this app's bucket, its own database login. */
export function appTaskRoles(
    name: string,
    a: Pick<AppSettings, "image" | "database" | "databaseUser" | "execCommand" | "context">,
    r: TaskResources,
    opts: pulumi.CustomResourceOptions,
): TaskRoles {
    return taskRoles(
        name,
        {
            repositoryArns: a.image.repositoryArns,
            secretArns: [a.database.secretArn, r.secretKeyArn, r.adminSecretArn],
            logGroupArn: r.logGroup.arn,
            execCommand: a.execCommand,
            accountId: a.context.accountId,
            naming: a.context.naming,
            taskStatements: [
                // IAM database authentication: the web process signs a token per connection.
                { sid: "DatabaseLogin", actions: ["rds-db:connect"], resources: [pulumi.interpolate`arn:aws:rds-db:${a.context.region}:${a.context.accountId}:dbuser:${a.database.resourceId}/${a.databaseUser}`] },
                { sid: "MediaObjects", actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources: [pulumi.interpolate`${r.mediaBucket.arn}/*`] },
                { sid: "MediaList", actions: ["s3:ListBucket"], resources: [r.mediaBucket.arn] },
            ],
        },
        opts,
    );
}

type ContainerSettings = Pick<AppSettings, "hostName" | "context" | "database" | "databaseUser" | "commitSha" | "port" | "cpu" | "image" | "user" | "execCommand" | "loadBalancer">;

/** The environment both containers share: where the app is served, its bucket and its database. */
function sharedEnvironment(a: ContainerSettings, mediaBucket: aws.s3.Bucket) {
    return [
        { name: "DJANGO_ALLOWED_HOSTS", value: a.hostName },
        { name: "DJANGO_CSRF_TRUSTED_ORIGINS", value: `https://${a.hostName}` },
        { name: "AWS_STORAGE_BUCKET_NAME", value: mediaBucket.bucket },
        { name: "AWS_S3_REGION_NAME", value: a.context.region },
        { name: "DB_HOST", value: a.database.address },
        { name: "DB_PORT", value: pulumi.output(a.database.port).apply(String) },
        { name: "DB_NAME", value: a.database.name },
        // TLS with the server checked against RDS's CAs (in the image): the web process's
        // IAM token is a password for 15 minutes, not to be handed to whoever answers.
        { name: "DB_SSLMODE", value: "verify-full" },
        { name: "DB_SSLROOTCERT", value: APP_RDS_CA_BUNDLE },
        { name: "GIT_COMMIT_SHA", value: a.commitSha },
        { name: "PORT", value: String(a.port) },
        { name: "WEB_CONCURRENCY", value: String(webConcurrency(a.cpu)) },
        // With threads (gthread) gunicorn keeps connections alive: longer than the ALB does.
        { name: "GUNICORN_KEEPALIVE", value: String(backendKeepAliveSeconds(a.loadBalancer.idleTimeout)) },
        { name: "DJANGO_DATA_DIR", value: "/tmp" },
    ];
}

/** Each container's environment and secrets: how it logs in to the database. */
function databaseAccess(a: ContainerSettings, r: TaskResources) {
    const environment = sharedEnvironment(a, r.mediaBucket);
    // Only the migrate step gets the master credentials, injected when it starts;
    // it exits once migrations and the web user's grants are done. The web process
    // holds no database password: it logs in as its own user with IAM.
    // The migrate step alone also gets the first superuser's credentials, which
    // ensure_admin uses only to create that user when it does not exist.
    const djangoKey = { DJANGO_SECRET_KEY: { arn: r.secretKeyArn, key: "key" } };
    const migrate = {
        environment: [...environment, { name: "DB_APP_USER", value: a.databaseUser }],
        secrets: secretRefs({
            ...djangoKey,
            DB_USER: { arn: a.database.secretArn, key: "username" },
            DB_PASSWORD: { arn: a.database.secretArn, key: "password" },
            DJANGO_SUPERUSER_USERNAME: { arn: r.adminSecretArn, key: "username" },
            DJANGO_SUPERUSER_PASSWORD: { arn: r.adminSecretArn, key: "password" },
        }),
    };
    const web = {
        environment: [...environment, { name: "DB_USER", value: a.databaseUser }, { name: "DB_IAM_AUTH", value: "1" }, { name: "DB_REGION", value: a.context.region }],
        secrets: secretRefs(djangoKey),
    };
    return { migrate, web };
}

/**
 * ECS Exec runs the SSM agent inside the container. AWS documents Exec as
 * unsupported with a read-only root; instead of giving up the read-only root,
 * the agent gets writable volumes for its state and logs (what it writes).
 * Only web is an exec target, and only when Exec is switched on.
 */
function execMounts(execCommand: boolean) {
    return execCommand
        ? [
              { sourceVolume: "ssm-state", containerPath: "/var/lib/amazon", readOnly: false },
              { sourceVolume: "ssm-logs", containerPath: "/var/log/amazon", readOnly: false },
          ]
        : [];
}

/** The two containers, hardened alike: migrate runs first and exits, web serves. */
function containerDefinitions(a: ContainerSettings, r: TaskResources): pulumi.Output<string> {
    const database = databaseAccess(a, r);
    const logConfig = (prefix: string) => awslogs(r.logGroup.name, a.context.region, prefix);
    const hardened = {
        image: a.image.image,
        user: a.user,
        readonlyRootFilesystem: true,
        privileged: false,
        mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
        // An init process as PID 1 forwards SIGTERM (python and bash as PID 1 ignore it)
        // and reaps ECS Exec's agent processes.
        linuxParameters: { initProcessEnabled: true },
    };
    return pulumi.jsonStringify([
        {
            ...hardened,
            ...database.migrate,
            name: MIGRATE,
            // Non-essential: it runs the advisory-locked migration and exits; web waits for its SUCCESS.
            essential: false,
            command: ["migrate"],
            logConfiguration: logConfig(MIGRATE),
        },
        {
            ...hardened,
            ...database.web,
            name: WEB,
            essential: true,
            mountPoints: [...hardened.mountPoints, ...execMounts(a.execCommand)],
            command: ["web"],
            portMappings: [{ containerPort: a.port, protocol: "tcp" }],
            dependsOn: [{ containerName: MIGRATE, condition: "SUCCESS" }],
            // Longer than gunicorn's 25 s graceful timeout so in-flight requests finish.
            stopTimeout: 30,
            healthCheck: {
                command: ["CMD", "python", "-c", `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${a.port}/healthz', timeout=3)`],
                ...WEB_CONTAINER_CHECK,
            },
            logConfiguration: logConfig(WEB),
        },
    ]);
}

/** The task definition; `family` is the service's physical name. */
export function appTaskDefinition(
    name: string,
    family: string,
    a: ContainerSettings & Pick<AppSettings, "memory" | "cpuArchitecture">,
    r: TaskResources & { readonly roles: TaskRoles },
    opts: pulumi.CustomResourceOptions,
): aws.ecs.TaskDefinition {
    return new aws.ecs.TaskDefinition(
        name,
        {
            // Families are account-wide: the stack's name keeps dev and prod revisions apart.
            family,
            cpu: String(a.cpu),
            memory: String(a.memory),
            networkMode: "awsvpc",
            requiresCompatibilities: ["FARGATE"],
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: a.cpuArchitecture },
            executionRoleArn: r.roles.executionRole.arn,
            taskRoleArn: r.roles.taskRole.arn,
            // The only writable paths: task-local scratch (temp files) and ECS Exec's agent dirs.
            volumes: [{ name: "tmp" }, ...execMounts(a.execCommand).map((m) => ({ name: m.sourceVolume }))],
            containerDefinitions: containerDefinitions(a, r),
        },
        opts,
    );
}
