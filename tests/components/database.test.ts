import { expect } from "chai";
import { Database } from "../../components/database";
import { named, ofType, runComponent, StackRun } from "../../sim/harness";
import { databaseArgs } from "./fixtures";

const T = {
    db: "aws:rds/instance:Instance",
    secret: "aws:secretsmanager/secret:Secret",
    password: "random:index/randomPassword:RandomPassword",
    rotation: "aws:secretsmanager/secretRotation:SecretRotation",
} as const;
const instance = (run: StackRun) => named(run, T.db, "app-db");

describe("component: Database", () => {
    it("protect: deletion protection, a final snapshot, changes in the maintenance window and Pulumi protect; without: disposable", async () => {
        const kept = await runComponent(() => new Database("app-db", databaseArgs({ context: { protect: true }, masterPasswordRotationDays: 0 })));
        const disposable = await runComponent(() => new Database("app-db", databaseArgs({ context: { protect: false }, masterPasswordRotationDays: 0 })));
        expect(instance(kept).inputs).to.include({ deletionProtection: true, skipFinalSnapshot: false, finalSnapshotIdentifier: "platform-test-app-final", applyImmediately: false });
        expect(instance(kept).protect).to.equal(true);
        expect(named(kept, T.secret, "app-db-credentials").protect).to.equal(true);
        expect(instance(disposable).inputs).to.include({ deletionProtection: false, skipFinalSnapshot: true, applyImmediately: true });
        expect(instance(disposable).inputs.finalSnapshotIdentifier).to.equal(undefined);
        expect(instance(disposable).protect).to.equal(false);
        expect(named(disposable, T.secret, "app-db-credentials").protect).to.equal(false);
    });

    it("multiAz and Performance Insights (with its 7-day retention) follow their Args", async () => {
        const on = instance(await runComponent(() => new Database("app-db", databaseArgs({ multiAz: true, performanceInsights: true }))));
        const off = instance(await runComponent(() => new Database("app-db", databaseArgs({ multiAz: false, performanceInsights: false }))));
        expect([on.inputs.multiAz, on.inputs.performanceInsightsEnabled, on.inputs.performanceInsightsRetentionPeriod]).to.deep.equal([true, true, 7]);
        expect([off.inputs.multiAz, off.inputs.performanceInsightsEnabled, off.inputs.performanceInsightsRetentionPeriod]).to.deep.equal([false, false, undefined]);
    });

    it("Enhanced Monitoring off (interval 0): no monitoring role", async () => {
        const run = await runComponent(() => new Database("app-db", databaseArgs({ monitoringIntervalSeconds: 0 })));
        expect(instance(run).inputs.monitoringInterval).to.equal(0);
        expect(instance(run).inputs.monitoringRoleArn).to.equal(undefined);
        expect(ofType(run, "aws:iam/role:Role")).to.deep.equal([]);
    });

    it("rotation on: RDS's own secret on a schedule, no password of ours; the secret ARN is the rotation's", async () => {
        const run = await runComponent(() => new Database("app-db", databaseArgs({ masterPasswordRotationDays: 30 })));
        expect(run.error).to.equal(undefined);
        expect(instance(run).inputs.manageMasterUserPassword).to.equal(true);
        expect(instance(run).inputs.password).to.equal(undefined);
        expect(ofType(run, T.password)).to.deep.equal([]);
        expect(ofType(run, T.secret)).to.deep.equal([]);
        const rotation = named(run, T.rotation, "app-db-master-rotation");
        expect(rotation.inputs.rotationRules).to.deep.equal({ automaticallyAfterDays: 30 });
        expect(rotation.inputs.secretId).to.equal(instance(run).state.masterUserSecrets[0].secretArn);
        expect(rotation.retainOnDelete).to.equal(true);
        expect(run.outputs.secretArn).to.equal(rotation.inputs.secretId);
    });

    it("turning rotation on (0 → 7 days) changes the instance in place only", async () => {
        const before = await runComponent(() => new Database("app-db", databaseArgs({ masterPasswordRotationDays: 0 })));
        const after = await runComponent(() => new Database("app-db", databaseArgs({ masterPasswordRotationDays: 7 })));
        expect(ofType(before, T.rotation)).to.deep.equal([]);
        expect(instance(before).inputs.password).to.match(/^generated-/);
        expect(named(after, T.rotation, "app-db-master-rotation").inputs.rotationRules).to.deep.equal({ automaticallyAfterDays: 7 });
        const old = instance(before);
        const now = instance(after);
        expect(now.urn).to.equal(old.urn);
        const changed = Object.keys({ ...old.inputs, ...now.inputs }).filter((k) => JSON.stringify(old.inputs[k]) !== JSON.stringify(now.inputs[k]));
        // Both are in-place modifies (ModifyDBInstance ManageMasterUserPassword); nothing that replaces the instance moves.
        expect(changed.sort()).to.deep.equal(["manageMasterUserPassword", "password"]);
    });

    it("up with rotation on: stops with the instance named if RDS still shows no secret, instead of handing out no password", async () => {
        const noSecretYet = (type: string, _name: string, state: Record<string, any>) => (type === T.db ? { ...state, masterUserSecrets: [] } : state);
        const run = await runComponent(() => new Database("app-db", databaseArgs({ masterPasswordRotationDays: 7 })), { state: noSecretYet });
        expect(String(run.error?.message)).to.match(/platform-test-app: RDS reports no master user secret/);
    });
});
