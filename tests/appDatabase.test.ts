import { expect } from "chai";
import { named, ofType, runStack, stackRun, STACKS, StackRun } from "../sim/harness";
import { prodRotationStep1 } from "./variants";

/** The app's PostgreSQL as both stacks build it, and where GitLab's differs; the Database component's own cases: tests/components/database.test.ts. */

const T = {
    db: "aws:rds/instance:Instance",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    td: "aws:ecs/taskDefinition:TaskDefinition",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    password: "random:index/randomPassword:RandomPassword",
    rotation: "aws:secretsmanager/secretRotation:SecretRotation",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
} as const;

/** How the mock monitor hands over a value not known until apply. */
const UNKNOWN = { __pulumiUnknown: true };
const containers = (run: StackRun): any[] => JSON.parse(named(run, T.td, "app").inputs.containerDefinitions);
const container = (run: StackRun, name: string): any => containers(run).find((c) => c.name === name);
const sgId = (run: StackRun, name: string): string => named(run, T.sg, name).id;

describe("Django app service", () => {
    describe("database", () => {
        for (const stack of STACKS) {
            it(`${stack}: PostgreSQL in the isolated subnets, private, encrypted, TLS forced, IAM auth`, async () => {
                const run = await stackRun(stack);
                const db = named(run, T.db, "app-db");
                expect(db.inputs.engine).to.equal("postgres");
                expect(db.inputs.engineVersion).to.equal("17");
                expect(db.inputs.publiclyAccessible).to.equal(false);
                expect(db.inputs.storageEncrypted).to.equal(true);
                expect(db.inputs.username).to.not.equal("postgres");
                const subnets = named(run, "aws:rds/subnetGroup:SubnetGroup", "app-db-subnets");
                expect(subnets.inputs.subnetIds).to.deep.equal(run.outputs.isolatedSubnetIds);
                const params = named(run, "aws:rds/parameterGroup:ParameterGroup", "app-db-params-17");
                expect(params.inputs.family).to.equal("postgres17");
                expect(params.inputs.parameters).to.deep.include({ name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" });
                expect(db.inputs.iamDatabaseAuthenticationEnabled).to.equal(true);
                expect(db.inputs.allowMajorVersionUpgrade).to.equal(true);
                expect(db.inputs.enabledCloudwatchLogsExports).to.have.members(["postgresql", "upgrade"]);
                // Its log groups exist before RDS creates them, so they have a retention.
                const logGroups = ofType(run, T.logGroup).filter((g) => String(g.inputs.name).startsWith(`/aws/rds/instance/${db.inputs.identifier}/`));
                expect(logGroups).to.have.length(2);
            });
        }

        it("prod: Multi-AZ, deletion protection, ≥ 7 days of backups, final snapshot, Performance Insights, protect", async () => {
            const run = await stackRun("prod");
            const db = named(run, T.db, "app-db");
            expect(db.inputs).to.include({ multiAz: true, deletionProtection: true, skipFinalSnapshot: false, performanceInsightsEnabled: true, copyTagsToSnapshot: true });
            expect(db.inputs.backupRetentionPeriod).to.be.at.least(7);
            expect(db.inputs.finalSnapshotIdentifier).to.be.a("string");
            expect(db.protect).to.equal(true);
            // GitLab logs in with its master password: generated, in a protected secret of ours, not rotated.
            expect(named(run, T.secret, "gitlab-db-credentials").protect).to.equal(true);
            expect(named(run, T.db, "gitlab-db").inputs.manageMasterUserPassword).to.equal(undefined);
        });

        describe("handing an existing password to RDS (the update that turns management on)", () => {
            // The preview of that update still shows the instance's old state, with no master
            // secret (RDS makes it during `up`); the task definition and schedule wait for it.
            const noSecretYet = (type: string, _name: string, state: Record<string, any>) => (type === T.db ? { ...state, masterUserSecrets: [] } : state);
            // Step 2: the line setting 0 deleted, which leaves prod's file as it is.
            it("preview: plans, with the secret's ARN unknown until RDS has made it", async () => {
                const run = await runStack("prod", { preview: true, state: noSecretYet });
                expect(run.error).to.equal(undefined);
                const rotation = named(run, T.rotation, "app-db-master-rotation");
                expect(rotation.inputs.secretId).to.deep.equal(UNKNOWN);
                expect(named(run, T.td, "app").inputs.containerDefinitions).to.deep.equal(UNKNOWN);
            });

        });

        it("dev: the master password is RDS's own, rotated every 7 days; the program never sees it", async () => {
            const run = await stackRun("dev");
            const db = named(run, T.db, "app-db");
            expect(db.inputs.manageMasterUserPassword).to.equal(true);
            expect(db.inputs.password).to.equal(undefined);
            expect(ofType(run, T.password).map((p) => p.name)).to.not.include("app-db-password");
            expect(ofType(run, T.secret).map((x) => x.name)).to.not.include("app-db-credentials");
            const rotation = named(run, T.rotation, "app-db-master-rotation");
            expect(rotation.inputs.secretId).to.equal(db.state.masterUserSecrets[0].secretArn);
            expect(rotation.inputs.rotationRules).to.deep.equal({ automaticallyAfterDays: 7 });
            // Setting the schedule must not rotate under a migrate step that has just read the secret.
            expect(rotation.inputs.rotateImmediately).to.equal(false);
            expect(rotation.inputs.rotationLambdaArn).to.equal(undefined);
            // Never cancelled by Pulumi: it ends with its secret (RDS deletes it when it stops managing the password).
            expect(rotation.retainOnDelete).to.equal(true);
        });

        it("prod at step 1 of 2: a generated password of ours, in a protected secret; the web process on IAM", async () => {
            // An existing stack moves in two deploys: first the web process to IAM (0 here,
            // so the old tasks' password stays valid through the canary), then rotation on.
            const before = await prodRotationStep1();
            expect(before.error).to.equal(undefined);
            const old = named(before, T.db, "app-db");
            expect(old.inputs.password).to.match(/^generated-/);
            expect(old.inputs.manageMasterUserPassword).to.equal(undefined);
            expect(ofType(before, T.rotation)).to.deep.equal([]);
            const credentials = named(before, T.secret, "app-db-credentials");
            expect(credentials.protect).to.equal(true);
            // The web process is on IAM either way; only migrate reads the master secret.
            expect(container(before, "web").secrets.map((x: any) => x.name)).to.deep.equal(["DJANGO_SECRET_KEY"]);
            expect(container(before, "migrate").secrets.find((x: any) => x.name === "DB_PASSWORD").valueFrom).to.match(/:secret:app-db-credentials-.*:password::$/);
            // Step 2 (rotation on) changes the instance in place only: tests/components/database.test.ts.
        });

        it("GitLab's database refuses rotation: GitLab holds the master password", async () => {
            const run = await runStack("prod", { patch: (c) => (c["platform:gitlab"].database = { ...c["platform:gitlab"].database, masterPasswordRotationDays: 7 }) });
            expect(String(run.error?.message)).to.match(/masterPasswordRotationDays.*GitLab logs in with the master password/);
            expect(run.resources).to.deep.equal([]);
        });

        it("dev: single-AZ, small, short retention, disposable", async () => {
            const db = named(await stackRun("dev"), T.db, "app-db");
            expect(db.inputs).to.include({ multiAz: false, deletionProtection: false, skipFinalSnapshot: true, instanceClass: "db.t4g.micro" });
            expect(db.inputs.backupRetentionPeriod).to.equal(1);
            expect(db.protect).to.equal(false);
        });

        for (const stack of STACKS) {
            it(`${stack}: admits 5432 only from the app's task security group`, async () => {
                const run = await stackRun(stack);
                const dbRules = ofType(run, T.ingress).filter((r) => r.inputs.securityGroupId === sgId(run, "app-db-sg"));
                expect(dbRules).to.have.length(1);
                expect(dbRules[0].inputs).to.include({ fromPort: 5432, toPort: 5432, ipProtocol: "tcp" });
                expect(dbRules[0].inputs.cidrIpv4).to.equal(undefined);
                expect(dbRules[0].inputs.referencedSecurityGroupId).to.equal(sgId(run, "app-tasks"));
                expect(named(run, T.db, "app-db").inputs.vpcSecurityGroupIds).to.deep.equal([dbRules[0].inputs.securityGroupId]);
            });
        }

        it("keeps the credentials in Secrets Manager, not in config or outputs", async () => {
            const run = await stackRun("prod");
            // GitLab's: generated, stored as a secret value.
            const version = named(run, T.secretVersion, "gitlab-db-credentials");
            expect(version.secretPaths).to.include("secretString");
            expect(JSON.parse(version.inputs.secretString)).to.include.keys("username", "password", "host", "port", "dbname");
            expect(JSON.stringify(run.outputs)).to.not.include("generated-");
            expect(run.outputs.appDatabaseEndpoint).to.match(/\.rds\.amazonaws\.com:5432$/);
        });
    });
});
