import { spawnSync } from "child_process";
import * as path from "path";
import { expect } from "chai";
import { GitLab, GitLabArgs } from "../components/gitlab";
import { OBJECT_TYPES } from "../components/gitlab/storage";
import { named, ofType, Resource, ROOT, runComponent, StackRun } from "../sim/harness";
import { gitlabArgs, Over } from "./components/fixtures";

/** Shared by the GitLab tests: resource types, container access, Ruby evaluation of rendered configs, and the runs (the component alone, prod as single) several files read. */

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
    scalingPolicy: "aws:appautoscaling/policy:Policy",
    volume: "aws:ebs/volume:Volume",
    asg: "aws:autoscaling/group:Group",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    capacityProvider: "aws:ecs/capacityProvider:CapacityProvider",
    clusterCapacity: "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    redis: "aws:elasticache/replicationGroup:ReplicationGroup",
    redisParams: "aws:elasticache/parameterGroup:ParameterGroup",
    command: "command:local:Command",
    discovery: "aws:servicediscovery/service:Service",
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
/** A split tier's task definition and service (`gitlab-<tier>`). */
export const taskOf = (run: StackRun, t: string) => named(run, T.taskDef, `gitlab-${t}`);
export const serviceOf = (run: StackRun, t: string) => named(run, T.service, `gitlab-${t}`);
export const ingressTo = (run: StackRun, sg: Resource) => ofType(run, T.ingress).filter((r) => r.inputs.securityGroupId === sg.id);
/** Every generated secret value (nothing but deleting one of these changes a secret). */
export const generators = (run: StackRun) => run.resources.filter((r) => r.type.startsWith("random:") || r.type.startsWith("tls:"));
export const policyOf = (run: StackRun, name: string) => JSON.parse(named(run, T.rolePolicy, name).inputs.policy).Statement as any[];


/** An OpenID Connect provider as gitlab.oidc gives it (the schema's label and approval default included). */
export const OIDC_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gitlab-oidc-AbCdEf";
export const OIDC = { issuer: "https://login.example.com/realms/staff", clientId: "gitlab", clientSecretArn: OIDC_ARN, label: "Single sign-on", blockAutoCreatedUsers: true };

/** The GitLab component alone, from the prod-like fixture; `over` is called inside the run (its ids are outputs). */
export const gitlabRun = (over: () => Over<GitLabArgs> = () => ({})) => runComponent(() => new GitLab("gitlab", gitlabArgs(over())));

/** A component run made once, on first use, for every test that reads it (runs are deterministic). */
export function sharedRun(over: () => Over<GitLabArgs>): () => Promise<StackRun> {
    let run: Promise<StackRun> | undefined;
    return () => (run ??= gitlabRun(over));
}

/** Two runs give `name` the same value for each of `fields` (what would replace it, for an update path). */
export function sameInputs(a: StackRun, b: StackRun, type: string, name: string, fields: string[]): void {
    const x = named(a, type, name).inputs;
    const y = named(b, type, name).inputs;
    for (const f of fields) {
        expect(y[f], `${name}.${f}`).to.deep.equal(x[f]);
    }
}

/** The renderer's arguments without a role, for tests of omnibusConfig.ts on its own. */
export const RENDER_ARGS = {
    hostName: "git.example.org",
    registryHostName: "registry.example.org",
    sshHostName: "ssh.example.org",
    vpcCidr: "10.9.0.0/16",
    loadBalancerIdleTimeout: 1200,
    region: "eu-central-1",
    database: { host: "db.internal", port: 5432, name: "gitlabhq_production", username: "gitlab" },
    registryDatabase: "on" as const,
    buckets: { objects: Object.fromEntries(OBJECT_TYPES.map((t) => [t, `b-${t}`])) as Record<(typeof OBJECT_TYPES)[number], string>, registry: "b-registry", backups: "b-backups" },
    cpu: 4096,
    memory: 8192,
};

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

