import { spawnSync } from "child_process";
import * as path from "path";
import { expect } from "chai";
import { named, Resource, ROOT, StackRun } from "../sim/harness";

/** Shared by the GitLab tests: resource types, container access and Ruby evaluation of rendered configs. */

export const T = {
    service: "aws:ecs/service:Service",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    fs: "aws:efs/fileSystem:FileSystem",
    ap: "aws:efs/accessPoint:AccessPoint",
    mount: "aws:efs/mountTarget:MountTarget",
    fsPolicy: "aws:efs/fileSystemPolicy:FileSystemPolicy",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    role: "aws:iam/role:Role",
    tg: "aws:lb/targetGroup:TargetGroup",
    lb: "aws:lb/loadBalancer:LoadBalancer",
    listener: "aws:lb/listener:Listener",
    rule: "aws:lb/listenerRule:ListenerRule",
    record: "aws:route53/record:Record",
    bucket: "aws:s3/bucket:Bucket",
    schedule: "aws:scheduler/schedule:Schedule",
    plan: "aws:backup/plan:Plan",
    selection: "aws:backup/selection:Selection",
    vault: "aws:backup/vault:Vault",
    db: "aws:rds/instance:Instance",
    params: "aws:rds/parameterGroup:ParameterGroup",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    scalingTarget: "aws:appautoscaling/target:Target",
};

export interface Container {
    name: string;
    environment: { name: string; value: string }[];
    secrets: { name: string; valueFrom: string }[];
    [k: string]: any;
}

export const containerOf = (td: Resource): Container => {
    const list = JSON.parse(td.inputs.containerDefinitions) as Container[];
    expect(list).to.have.length(1);
    return list[0];
};
export const mainTask = (run: StackRun) => named(run, T.taskDef, "gitlab");
export const backupTask = (run: StackRun) => named(run, T.taskDef, "gitlab-backup");
export const envValue = (c: Container, name: string) => c.environment.find((e) => e.name === name)?.value;
export const policyOf = (run: StackRun, name: string) => JSON.parse(named(run, T.rolePolicy, name).inputs.policy).Statement as any[];

/** Variables ECS itself sets in every Fargate task (the task-role credentials endpoint). */
export const ECS_PROVIDED = ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"];

export interface Evaluated {
    settings: { path: string[]; value: any }[];
    calls: { name: string; args: any[] }[];
}

/** Evaluates a rendered config in Ruby with exactly `envNames` set (to dummies); throws with Ruby's stderr on failure. */
export function evaluate(config: string, envNames: readonly string[]): Evaluated {
    const r = spawnSync("ruby", [path.join(ROOT, "tests/ruby/omnibus_recorder.rb"), JSON.stringify(envNames)], { input: config, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`ruby failed (${r.status}): ${r.stderr}`);
    }
    return JSON.parse(r.stdout) as Evaluated;
}

export const keyPath = (p: string[]) => p[0] + p.slice(1).map((k) => `['${k}']`).join("");
export const valueAt = (e: Evaluated, p: string): any => {
    const found = e.settings.filter((s) => keyPath(s.path) === p);
    expect(found, p).to.have.length(1);
    return found[0].value;
};
export const callArg = (e: Evaluated, name: string): any => e.calls.find((c) => c.name === name)?.args[0];

/** What Ruby sees for a container: its own config, with its secrets, environment and ECS's variables. */
export function evaluateContainer(c: Container): Evaluated {
    const names = [...c.secrets.map((s) => s.name), ...c.environment.map((e) => e.name), ...ECS_PROVIDED];
    return evaluate(envValue(c, "GITLAB_OMNIBUS_CONFIG")!, names);
}

