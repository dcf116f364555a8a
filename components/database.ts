import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { StackContext } from "../aws/context";
import * as random from "@pulumi/random";
import { databaseAlarms } from "../aws/alarms";
import { ServiceRole, serviceRole } from "../aws/iam";
import { logGroup } from "../aws/logs";
import { jsonSecret } from "../aws/secrets";
import { allowPortFrom } from "../aws/securityGroups";
import { rdsDefaultMaxConnections } from "../facts/rds";

export const POSTGRES_PORT = 5432;

export interface DatabaseArgs {
    /** Account and region (the monitoring role's trust condition, log ARNs), naming, log retention; `protect`: deletion protection, final snapshot, Pulumi `protect`. */
    readonly context: StackContext;
    /** RDS instance identifier; fixed so its log groups can be created (with retention) before RDS does. */
    readonly identifier: string;
    readonly vpcId: pulumi.Input<string>;
    /** Isolated subnets: no route to or from the internet. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** PostgreSQL major version; RDS applies minor upgrades itself. */
    readonly engineVersion: string;
    readonly instanceClass: string;
    readonly allocatedStorageGb: number;
    readonly maxAllocatedStorageGb: number;
    readonly multiAz: boolean;
    readonly backupRetentionDays: number;
    readonly performanceInsights: boolean;
    /** Enhanced Monitoring interval in seconds (Security Hub RDS.6); 0 turns it off. */
    readonly monitoringIntervalSeconds: number;
    /** Initial database name. Defaults to "app". */
    readonly databaseName?: string;
    /** Master user name (not the engine default, Security Hub RDS.25). Defaults to "platform_admin". */
    readonly username?: string;
    /** Parameters beyond the defaults every instance gets (TLS forced, slow-query log). */
    readonly parameters?: readonly DatabaseParameter[];
    /** CPU, free storage and (when max_connections is set in `parameters`) connection alarms to this topic. */
    readonly alarmTopicArn?: pulumi.Input<string>;
    /**
     * Let RDS keep the master password in a secret of its own and rotate it every
     * this many days. Only for a database whose long-running clients log in with
     * IAM, as a rotation breaks every process still holding the old password.
     * Unset or 0: a generated password in our own secret, never rotated (GitLab's).
     */
    readonly masterPasswordRotationDays?: number;
}

/** One RDS parameter-group entry; static parameters need "pending-reboot". */
export interface DatabaseParameter {
    readonly name: string;
    readonly value: string;
    readonly applyMethod: "immediate" | "pending-reboot";
}

/** The CA every instance's server certificate is signed by; the GitLab image carries its bundle. */
export const RDS_CA = "rds-ca-rsa2048-g1";

/**
 * RDS PostgreSQL in isolated subnets, TLS forced, encrypted, IAM authentication
 * on, with its master credentials in Secrets Manager. Its security group admits
 * nobody until a client calls `allowFrom`.
 *
 * The master password is either RDS's own, rotated on a schedule
 * (`masterPasswordRotationDays`), or a generated one in our own secret. A
 * rotation changes the password under every running process that logged in
 * with it (ECS injects secrets only at task start), so rotation is for
 * databases whose services log in with IAM and where only a short-lived
 * migrate step reads the master secret.
 */
export class Database extends pulumi.ComponentResource {
    readonly address: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    readonly databaseName: string;
    /** The master credentials: a secret whose JSON has `username` and `password`. */
    readonly secretArn: pulumi.Output<string>;
    /** The DbiResourceId, which IAM database authentication names in `rds-db:connect` ARNs. */
    readonly resourceId: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    readonly instanceArn: pulumi.Output<string>;
    /** The RDS instance identifier (the DBInstanceIdentifier dimension of its metrics). */
    readonly identifier: pulumi.Output<string>;
    /** The instance's max_connections: its parameter group's, else RDS's default for the class; undefined when neither is known. */
    readonly maxConnections?: number;
    /** Everything a client needs, in one handle. */
    readonly endpoint: DatabaseEndpoint;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:database:Database", name, {}, opts);
        const a: Settings = { databaseName: "app", username: "platform_admin", ...args };
        const parent = { parent: this };

        const sg = new aws.ec2.SecurityGroup(`${name}-sg`, { vpcId: a.vpcId, description: `${name}: PostgreSQL from allowed clients only` }, parent);
        const subnets = new aws.rds.SubnetGroup(`${name}-subnets`, { subnetIds: a.subnetIds }, parent);
        const params = parameterGroup(name, a.engineVersion, a.parameters ?? [], parent);

        const rotationDays = a.masterPasswordRotationDays ?? 0;
        const rotated = rotationDays > 0;
        // Alphanumeric only: the password travels in URLs and shell-quoted env. Protected with
        // its secret: deleting the generator would make a new password for the next update.
        const password = rotated ? undefined : new random.RandomPassword(`${name}-password`, { length: 40, special: false }, { ...parent, protect: a.context.protect });

        const logGroups = ["postgresql", "upgrade"].map((kind) =>
            logGroup(`${name}-${kind}-logs`, { retentionInDays: a.context.logRetentionDays, logGroupName: `/aws/rds/instance/${a.identifier}/${kind}`, naming: a.context.naming }, parent),
        );
        const monitoringRole = a.monitoringIntervalSeconds > 0 ? enhancedMonitoringRole(`${name}-monitoring`, a.context, parent) : undefined;

        const instance = rdsInstance(
            name,
            a,
            { subnetGroupName: subnets.name, securityGroupId: sg.id, parameterGroupName: params.name, password: password?.result, monitoringRoleArn: monitoringRole?.arn },
            { parent: this, protect: a.context.protect, dependsOn: logGroups },
        );

        if (a.alarmTopicArn !== undefined) {
            const maxConnections = a.parameters?.find((p) => p.name === "max_connections");
            databaseAlarms(
                name,
                {
                    topicArn: a.alarmTopicArn,
                    instanceIdentifier: instance.identifier,
                    allocatedStorageGb: a.allocatedStorageGb,
                    maxConnections: maxConnections ? Number(maxConnections.value) : undefined,
                },
                parent,
            );
        }

        const secretArn = password
            ? jsonSecret(
                  `${name}-credentials`,
                  {
                      description: `${name}: PostgreSQL credentials`,
                      protect: a.context.protect,
                      naming: a.context.naming,
                      value: { engine: "postgres", host: instance.address, port: instance.port, dbname: a.databaseName, username: a.username, password: password.result },
                  },
                  parent,
              )
            : managedSecretRotation(`${name}-master-rotation`, instance, rotationDays, parent);

        this.address = instance.address;
        this.port = instance.port;
        this.databaseName = a.databaseName;
        this.secretArn = secretArn;
        this.resourceId = instance.resourceId;
        this.securityGroupId = sg.id;
        this.instanceArn = instance.arn;
        this.identifier = instance.identifier;
        const maxConnectionsParameter = a.parameters?.find((p) => p.name === "max_connections");
        // A formula ({DBInstanceClassMemory/...}) is no number here: the class's default stands in for it.
        const setMax = Number(maxConnectionsParameter?.value);
        this.maxConnections = Number.isFinite(setMax) ? setMax : rdsDefaultMaxConnections(a.instanceClass);
        this.endpoint = {
            address: this.address,
            port: this.port,
            name: this.databaseName,
            username: a.username,
            secretArn: this.secretArn,
            securityGroupId: this.securityGroupId,
            resourceId: this.resourceId,
        };
        this.registerOutputs({ address: this.address, port: this.port, secretArn: this.secretArn, resourceId: this.resourceId, securityGroupId: this.securityGroupId, identifier: this.identifier });
    }
}

/** The Args with their defaults filled in. */
type Settings = DatabaseArgs & { readonly databaseName: string; readonly username: string };

/** What the instance is placed in and configured with, all made before it. */
interface InstanceHandles {
    readonly subnetGroupName: pulumi.Input<string>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly parameterGroupName: pulumi.Input<string>;
    /** Our generated master password; undefined: RDS manages it in a secret of its own. */
    readonly password?: pulumi.Input<string>;
    readonly monitoringRoleArn?: pulumi.Input<string>;
}

/** Every instance's parameters (TLS forced, slow-query log) and the caller's. */
function parameterGroup(name: string, engineVersion: string, parameters: readonly DatabaseParameter[], opts: pulumi.CustomResourceOptions): aws.rds.ParameterGroup {
    // One group per major version, kept on delete: during a major upgrade the
    // old group stays attached until RDS finishes, so deleting it would fail.
    return new aws.rds.ParameterGroup(
        `${name}-params-${engineVersion}`,
        {
            family: `postgres${engineVersion}`,
            parameters: [
                { name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" },
                { name: "log_min_duration_statement", value: "1000", applyMethod: "immediate" },
                ...parameters,
            ],
        },
        { ...opts, retainOnDelete: true },
    );
}

/**
 * Enhanced Monitoring: RDS writes OS metrics to the RDSOSMetrics log group through
 * this role. Inline copy of AmazonRDSEnhancedMonitoringRole's named actions.
 */
function enhancedMonitoringRole(name: string, context: StackContext, opts: pulumi.CustomResourceOptions): ServiceRole {
    const { region, accountId } = context;
    return serviceRole(
        name,
        {
            service: "monitoring.rds.amazonaws.com",
            sourceAccount: accountId,
            naming: context.naming,
            statements: [
                { sid: "LogGroup", actions: ["logs:CreateLogGroup", "logs:PutRetentionPolicy"], resources: [pulumi.interpolate`arn:aws:logs:${region}:${accountId}:log-group:RDSOSMetrics`] },
                {
                    sid: "LogStreams",
                    actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"],
                    resources: [pulumi.interpolate`arn:aws:logs:${region}:${accountId}:log-group:RDSOSMetrics:log-stream:*`],
                },
            ],
        },
        opts,
    );
}

/** The PostgreSQL instance: encrypted, TLS only, IAM authentication on, never public; `protect` keeps it (and its last snapshot). */
function rdsInstance(name: string, a: Settings, handles: InstanceHandles, opts: pulumi.CustomResourceOptions): aws.rds.Instance {
    return new aws.rds.Instance(
        name,
        {
            identifier: a.identifier,
            engine: "postgres",
            engineVersion: a.engineVersion,
            autoMinorVersionUpgrade: true,
            // engineVersion is a reviewed config change; without this RDS refuses it.
            allowMajorVersionUpgrade: true,
            instanceClass: a.instanceClass,
            allocatedStorage: a.allocatedStorageGb,
            maxAllocatedStorage: a.maxAllocatedStorageGb,
            storageType: "gp3",
            storageEncrypted: true,
            caCertIdentifier: RDS_CA,
            dbName: a.databaseName,
            username: a.username,
            // Turning management on for an instance that had a password is an in-place
            // modify; RDS then sets a new password and keeps it in its secret.
            ...(handles.password ? { password: handles.password } : { manageMasterUserPassword: true }),
            iamDatabaseAuthenticationEnabled: true,
            dbSubnetGroupName: handles.subnetGroupName,
            vpcSecurityGroupIds: [handles.securityGroupId],
            parameterGroupName: handles.parameterGroupName,
            publiclyAccessible: false,
            multiAz: a.multiAz,
            backupRetentionPeriod: a.backupRetentionDays,
            copyTagsToSnapshot: true,
            deletionProtection: a.context.protect,
            skipFinalSnapshot: !a.context.protect,
            finalSnapshotIdentifier: a.context.protect ? `${a.identifier}-final` : undefined,
            monitoringInterval: a.monitoringIntervalSeconds,
            monitoringRoleArn: handles.monitoringRoleArn,
            performanceInsightsEnabled: a.performanceInsights,
            performanceInsightsRetentionPeriod: a.performanceInsights ? 7 : undefined,
            enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
            // Changes wait for the maintenance window instead of restarting prod mid-day.
            applyImmediately: !a.context.protect,
        },
        opts,
    );
}

/**
 * The schedule of the master secret RDS manages (RDS's default is every 7 days).
 * Applying it does not rotate at once: a task whose migrate step has just read
 * the secret keeps a working password. Returns the secret's ARN, known once the
 * schedule is set.
 */
function managedSecretRotation(name: string, instance: aws.rds.Instance, days: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    // Read from the instance (not built from its name) so the schedule waits for the secret to exist.
    const secretArn = pulumi.all([instance.masterUserSecrets, instance.identifier]).apply(([secrets, identifier]) => {
        const arn = secrets?.[0]?.secretArn;
        if (arn) {
            return pulumi.output(arn);
        }
        // The preview of the update that hands an existing password to RDS still shows the
        // instance's old state, with no secret: RDS creates it during `up`.
        if (pulumi.runtime.isDryRun()) {
            return pulumi.output(pulumi.unknown as unknown as string);
        }
        throw new Error(`${identifier}: RDS reports no master user secret although it manages the password; see its events (aws rds describe-events)`);
    });
    // Kept on delete: Pulumi never cancels the rotation (a cancel on a secret RDS has just
    // deleted, when management is turned off, would fail the update); it ends with its secret.
    const rotation = new aws.secretsmanager.SecretRotation(
        name,
        { secretId: secretArn, rotationRules: { automaticallyAfterDays: days }, rotateImmediately: false },
        { ...opts, retainOnDelete: true },
    );
    return rotation.secretId;
}

/** What a service needs to reach one of these databases. */
export interface DatabaseClientArgs {
    readonly address: pulumi.Input<string>;
    readonly port: pulumi.Input<number>;
    readonly name: string;
    /** The credentials secret (JSON: username, password, ...). */
    readonly secretArn: pulumi.Input<string>;
    /** The database's security group; the service opens it to its own tasks. */
    readonly securityGroupId: pulumi.Input<string>;
}

/** A Database as its clients see it (`Database.endpoint`). */
export interface DatabaseEndpoint extends DatabaseClientArgs {
    /** The master user (the secret's `username`). */
    readonly username: string;
    /** The DbiResourceId, which IAM database authentication names in `rds-db:connect` ARNs. */
    readonly resourceId: pulumi.Input<string>;
}

/** Opens PostgreSQL on `databaseSecurityGroupId` to one client security group. */
export function allowDatabaseClient(
    name: string,
    databaseSecurityGroupId: pulumi.Input<string>,
    clientSecurityGroupId: pulumi.Input<string>,
    opts: pulumi.CustomResourceOptions,
): aws.vpc.SecurityGroupIngressRule {
    return allowPortFrom(name, { securityGroupId: databaseSecurityGroupId, sourceSecurityGroupId: clientSecurityGroupId, port: POSTGRES_PORT, description: `PostgreSQL from ${name}` }, opts);
}
