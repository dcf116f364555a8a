import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ServiceAlarms } from "../../aws/alarms";
import { SecretSource } from "../../aws/ecsTask";
import { PolicyStatement } from "../../aws/iam";
import { awslogs } from "../../aws/logs";
import { Naming } from "../../facts/naming";
import { HealthTiming } from "../../facts/rollout";
import { OmnibusConfigArgs, OmnibusRole } from "./omnibusConfig";
import { GitLabSecrets, SecretName } from "./secrets";
import { GitLabBuckets } from "./storage";

/** Target-group timing for GitLab: 15 s checks, healthy after 2, and at most 60 s of draining (long clones get a minute). */
export const GITLAB_HEALTH: HealthTiming = { intervalSeconds: 15, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 3, deregistrationDelaySeconds: 60 };

/** Seconds ECS ignores failing load-balancer checks after the single task starts: a first boot seeds the database. */
export const GITLAB_GRACE_SECONDS = 900;

/** The same for a web task of the split topology: reconfigure without migrations, then Puma. */
export const WEB_GRACE_SECONDS = 600;

/** The image's own health check for a task that serves HTTP (ECS ignores the Docker HEALTHCHECK). */
export const RAILS_HEALTH_CHECK = { command: ["CMD", "/opt/gitlab/bin/gitlab-healthcheck", "--fail", "--max-time", "10"], interval: 60, timeout: 30, retries: 5, startPeriod: 300 };

export interface FargateTaskBase {
    readonly cpu: string;
    readonly memory: string;
    readonly networkMode: "awsvpc";
    readonly requiresCompatibilities: string[];
    readonly runtimePlatform: { operatingSystemFamily: string; cpuArchitecture: string };
    readonly ephemeralStorage: { sizeInGib: number };
}

/** Config values only known once other resources exist (rendered inside an apply). */
export type RoleExtras = Pick<OmnibusConfigArgs, "gitalyHost" | "redis" | "internalApiUrl" | "registryApiUrl">;

/**
 * What the GitLab component hands its topology builders (single.ts,
 * split.ts): the parts every task shares, built once, so each tier is the
 * same rendered configuration function and the same secrets, per role.
 */
export interface GitLabKit {
    readonly name: string;
    readonly physical: string;
    readonly parent: { readonly parent: pulumi.Resource };
    readonly naming: Naming;
    readonly region: string;
    readonly buckets: GitLabBuckets;
    readonly secrets: GitLabSecrets;
    readonly namespace: aws.servicediscovery.PrivateDnsNamespace;
    /**
     * The S3 rights of a Rails task: the object-type and registry buckets, and
     * the backup bucket where this task's own Gitaly writes repository backups
     * (the single task).
     */
    readonly railsBucketStatements: (sid: string, withBackups: boolean) => PolicyStatement[];
    /** A Cloud Map A record for one service's tasks (`<dnsName>.<namespace>`). */
    readonly discovery: (suffix: string, dnsName: string) => aws.servicediscovery.Service;
    /** GITLAB_OMNIBUS_CONFIG of a role, at a size, with what only exists later. */
    readonly config: (role: OmnibusRole, size: { cpu: number; memory: number }, extras: pulumi.Input<RoleExtras> | { readonly gitalyHost: pulumi.Input<string> }) => pulumi.Output<string>;
    /**
     * ECS `secrets` for these names, and the Secrets Manager ARNs the execution
     * role must read for them; `others` supplies sources built later (ElastiCache's token).
     */
    readonly secretsOf: (names: readonly SecretName[], others?: Partial<Record<SecretName, SecretSource>>) => pulumi.Output<{ name: string; valueFrom: string }[]>;
    readonly secretArnsOf: (names: readonly SecretName[], others?: Partial<Record<SecretName, SecretSource>>) => pulumi.Input<string>[];
    /** A container's environment: its config and the region. */
    readonly environment: (config: pulumi.Input<string>) => { name: string; value: pulumi.Input<string> }[];
    /** What every Omnibus container sets the same way. */
    readonly omnibus: { image: pulumi.Input<string>; essential: true; privileged: false; readonlyRootFilesystem: false; linuxParameters: { initProcessEnabled: true } };
    /** What every Fargate task definition of GitLab sets the same way (size apart). */
    readonly fargateTask: (size: { cpu: number; memory: number }) => FargateTaskBase;
    readonly logConfig: (group: aws.cloudwatch.LogGroup, prefix: string) => ReturnType<typeof awslogs>;
    /** 5xx, unhealthy-host, CPU and memory alarms of the service behind the ALB (the single task, the web tier). */
    readonly frontAlarms: (name: string, serviceName: string, webTargetGroup: aws.lb.TargetGroup) => ServiceAlarms;
}
