import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ecsServiceAlarms } from "../../aws/alarms";
import { serviceAutoscaling } from "../../aws/autoscaling";
import { fargateServiceBase } from "../../aws/ecsService";
import { MIGRATE_TASK_SIZE, MigrationSteps, migrationSteps, SERVICE_ROLLOUT_MINUTES } from "./migrations";
import { GITLAB_PORTS } from "./gitlabRb";
import { healthyFloor, SIDEKIQ_HEALTH_CHECK, WEB_GRACE_SECONDS, WEB_HEALTH_CHECK, WEB_WARMUP } from "./readiness";
import { Entry, SplitTiers } from "./types";

/** Seconds after a scale-out before the next, and after a scale-in: GitLab tasks take minutes to boot, so capacity leaves slowly. */
export const TIER_COOLDOWNS = { scaleOutCooldown: 120, scaleInCooldown: 600 } as const;

/** The tiers' deployment minimum: 100 %, old tasks serve until new ones are healthy. */
const START_FIRST_PERCENT = 100;

/**
 * A stateless tier's service: rolled start-first (100 % / 200 %), starting at
 * its minimum count; autoscaling owns desiredCount after creation.
 */
function scaledService(t: SplitTiers, which: "web" | "sidekiq", task: aws.ecs.TaskDefinition, dependsOn: pulumi.Resource[], rest: Partial<aws.ecs.ServiceArgs>): aws.ecs.Service {
    const { kit, args: a, split: s, tier } = t;
    return new aws.ecs.Service(
        tier(which),
        {
            name: `${kit.physical}-${which}`,
            cluster: a.cluster.arn,
            taskDefinition: task.arn,
            desiredCount: s[which].minCount,
            deploymentMinimumHealthyPercent: START_FIRST_PERCENT,
            deploymentMaximumPercent: 200,
            ...rest,
        },
        { ...kit.parent, ignoreChanges: ["desiredCount"], customTimeouts: { create: `${SERVICE_ROLLOUT_MINUTES}m`, update: `${SERVICE_ROLLOUT_MINUTES}m` }, dependsOn },
    );
}

/** A service and the task definition it must run once its rollout completes. */
export interface Rollout {
    readonly service: aws.ecs.Service;
    readonly taskDefinition: aws.ecs.TaskDefinition;
}

/** Migrations: the only task with auto_migrate on, run by `pulumi up` around the tiers (one run per step). */
export function splitMigrations(t: SplitTiers, securityGroup: aws.ec2.SecurityGroup): MigrationSteps {
    const { log, task } = t.fargateTier("migrate", MIGRATE_TASK_SIZE, { command: ["migrate"] }, false);
    return migrationSteps(t.kit, t.args, { task, log, securityGroupId: securityGroup.id });
}

/** Web: Puma, Workhorse, NGINX, the registry and sshd behind the ALB and NLB. */
export function webTier(t: SplitTiers, entry: Entry, webDns: aws.servicediscovery.Service, dependsOn: pulumi.Resource[]): Rollout & { readonly logGroupName: pulumi.Output<string> } {
    const { kit, args: a, split: s, tier } = t;
    const { parent, physical } = kit;
    const { log, task } = t.fargateTier("web", s.web, {
        command: ["serve"],
        portMappings: [GITLAB_PORTS.http, GITLAB_PORTS.registry, GITLAB_PORTS.ssh].map((p) => ({ containerPort: p, protocol: "tcp" })),
        // Healthy (so in web.<ns> for Gitaly's hooks and Sidekiq's registry calls) once Puma answers /-/readiness.
        healthCheck: WEB_HEALTH_CHECK,
    });
    const floor = healthyFloor(s.web.minCount, WEB_WARMUP, { minimumHealthyPercent: START_FIRST_PERCENT });
    const webAlarms = kit.frontAlarms(tier("web"), `${physical}-web`, entry.webTargetGroup, floor);
    const service = scaledService(t, "web", task, dependsOn, {
        // Rolling back is safe here: the regular migrations already ran and GitLab writes
        // them to work with the previous version; post-deployment ones run only after.
        ...fargateServiceBase({
            spot: a.spot,
            subnetIds: a.network.subnetIds.private,
            securityGroupId: entry.frontSecurityGroup.id,
            deploymentAlarmNames: webAlarms.deploymentAlarms.map((x) => x.name),
            rollback: true,
            execCommand: a.execCommand,
        }),
        loadBalancers: [
            { containerName: "web", containerPort: GITLAB_PORTS.http, targetGroupArn: entry.webTargetGroup.arn },
            { containerName: "web", containerPort: GITLAB_PORTS.registry, targetGroupArn: entry.registryTargetGroup.arn },
            { containerName: "web", containerPort: GITLAB_PORTS.ssh, targetGroupArn: entry.sshTargetGroup.arn },
        ],
        serviceRegistries: { registryArn: webDns.arn },
        healthCheckGracePeriodSeconds: WEB_GRACE_SECONDS,
    });
    serviceAutoscaling(
        `${tier("web")}-scaling`,
        { clusterName: a.cluster.name, serviceName: service.name, minCount: s.web.minCount, maxCount: s.web.maxCount, cpuTarget: s.web.cpuTarget, memoryTarget: s.web.memoryTarget, ...TIER_COOLDOWNS },
        parent,
    );
    return { service, taskDefinition: task, logGroupName: log.name };
}

/** Sidekiq: jobs only, health checked on its own endpoint. */
export function sidekiqTier(t: SplitTiers, securityGroup: aws.ec2.SecurityGroup, dependsOn: pulumi.Resource[]): Rollout {
    const { kit, args: a, split: s, tier } = t;
    const { parent, physical } = kit;
    const { task } = t.fargateTier("sidekiq", s.sidekiq, {
        command: ["worker"],
        healthCheck: SIDEKIQ_HEALTH_CHECK,
    });
    const service = scaledService(t, "sidekiq", task, dependsOn, {
        ...fargateServiceBase({ spot: a.spot, subnetIds: a.network.subnetIds.private, securityGroupId: securityGroup.id, deploymentAlarmNames: [], rollback: true, execCommand: a.execCommand }),
    });
    serviceAutoscaling(
        `${tier("sidekiq")}-scaling`,
        { clusterName: a.cluster.name, serviceName: service.name, minCount: s.sidekiq.minCount, maxCount: s.sidekiq.maxCount, cpuTarget: s.sidekiq.cpuTarget, ...TIER_COOLDOWNS },
        parent,
    );
    ecsServiceAlarms(tier("sidekiq"), { topicArn: a.alarms.topicArn, clusterName: a.cluster.name, serviceName: `${physical}-sidekiq`, cpuPercent: a.alarms.cpuPercent, memoryPercent: a.alarms.memoryPercent }, parent);
    return { service, taskDefinition: task };
}
