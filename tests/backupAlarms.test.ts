import { expect } from "chai";
import { T } from "./gitlabHelpers";
import { named, ofType, stackRun, STACKS } from "../sim/harness";

/*
 * AWS Backup runs its jobs on its own: nothing else in the stack notices one
 * that failed or never started. Each vault's jobs are watched.
 */

describe("AWS Backup: a failed or aborted job alarms", () => {
    for (const stack of STACKS) {
        it(`${stack}: every backup vault has an alarm on failed and on aborted jobs into it, to the stack's alarm topic`, async () => {
            const run = await stackRun(stack);
            const topicArn = named(run, "aws:sns/topic:Topic", "alerts").state.arn;
            const vaults = ofType(run, T.vault);
            expect(vaults.length).to.be.greaterThan(0);
            const alarms = ofType(run, T.alarm).filter((a) => a.inputs.namespace === "AWS/Backup");
            for (const vault of vaults) {
                const mine = alarms.filter((a) => a.inputs.dimensions?.BackupVaultName === vault.inputs.name);
                expect(mine.map((a) => a.inputs.metricName).sort(), vault.name).to.deep.equal(["NumberOfBackupJobsAborted", "NumberOfBackupJobsFailed"]);
                for (const a of mine) {
                    // One job is enough; a day without jobs (between schedules) is no verdict.
                    expect(a.inputs, a.name).to.include({ statistic: "Sum", comparisonOperator: "GreaterThanThreshold", threshold: 0, evaluationPeriods: 1, treatMissingData: "notBreaching" });
                    expect(a.inputs.alarmActions, a.name).to.deep.equal([topicArn]);
                }
            }
            expect(alarms).to.have.length(2 * vaults.length);
        });
    }
});
