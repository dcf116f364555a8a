import { expect } from "chai";
import { policyOf, T } from "./gitlabHelpers";
import { evaluate } from "../policy/waivers";
import { named, ofType, stackRun, StackRun } from "../sim/harness";
import { viewOf } from "../sim/policyView";
import { prodGitalyAccountDefaultKey } from "./variants";

/*
 * The Gitaly volume's KMS key. A new stack puts the volume on a key of its
 * own that the roles can use; a stack whose volume exists on the account's
 * default key (`accountDefault`) keeps it: a volume's key is fixed at creation,
 * and a new `kmsKeyId` would replace the volume (the repositories).
 */

const KEY_TYPE = "aws:kms/key:Key";
/** prod as committed, a new stack: the schema's default, the stack's own key. */
const newStack = () => stackRun("prod");
/** prod as a stack whose volume was made on the account's default key. */
const onAccountDefault = prodGitalyAccountDefaultKey;
const volumeKey = (run: StackRun) => ofType(run, KEY_TYPE).find((k) => k.name === "gitaly-data");
const grantStatement = (run: StackRun, role: string) => policyOf(run, role).find((s) => [s.Action].flat().includes("kms:CreateGrant"));

describe("The Gitaly volume's key", () => {
    it("a new stack: the volume on the stack's own key, rotated, protected and kept with the volume, used only through EC2", async () => {
        const run = await newStack();
        expect(run.error).to.equal(undefined);
        const key = volumeKey(run)!;
        expect(key, "gitaly-data key").to.not.equal(undefined);
        expect(named(run, T.volume, "gitaly-data").inputs.kmsKeyId).to.equal(key.state.arn);
        expect(key.inputs).to.include({ enableKeyRotation: true, deletionWindowInDays: 30 });
        expect([key.protect, key.retainOnDelete]).to.deep.equal([true, true]);
        const policy = JSON.parse(key.inputs.policy).Statement as any[];
        const use = policy.find((s) => s.Sid === "AccountUsesThroughEc2");
        expect(use.Principal.AWS).to.equal(`arn:aws:iam::${key.state.arn.split(":")[4]}:root`);
        expect(use.Condition.StringEquals["kms:ViaService"]).to.equal("ec2.us-east-1.amazonaws.com");
        expect(use.Action).to.include.members(["kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt"]);
        // Nothing else but the account's administration.
        expect(policy.map((s) => s.Sid).sort()).to.deep.equal(["AccountAdministers", "AccountUsesThroughEc2"]);
        // And the stack still passes every control of the policy pack.
        expect(evaluate(viewOf(run)).violations.map((v) => `${v.control} ${v.name}: ${v.message}`)).to.deep.equal([]);
    });

    it("a new stack: the instance role may have EC2 make its grant on that key (attach), and so may AWS Backup (snapshots), for AWS resources only", async () => {
        const run = await newStack();
        const keyArn = volumeKey(run)!.state.arn;
        const host = grantStatement(run, "gitaly-instance-policy");
        expect([host.Resource].flat()).to.deep.equal([keyArn]);
        expect(host.Condition.Bool["kms:GrantIsForAWSResource"]).to.equal("true");
        expect(host.Condition.StringEquals["kms:ViaService"]).to.equal("ec2.us-east-1.amazonaws.com");
        const backup = grantStatement(run, "gitaly-data-backup-policy");
        expect([backup.Resource].flat()).to.deep.equal([keyArn]);
        expect(backup.Condition.Bool["kms:GrantIsForAWSResource"]).to.equal("true");
    });

    it("prod as a stack whose volume exists on the account's default key: no kmsKeyId (as it was created), no key; only kmsKeyId tells it from a new stack's volume", async () => {
        const existing = await onAccountDefault();
        expect(existing.error).to.equal(undefined);
        const fresh = await newStack();
        const was = named(existing, T.volume, "gitaly-data");
        const now = named(fresh, T.volume, "gitaly-data");
        expect(was.inputs).to.not.have.property("kmsKeyId");
        expect(volumeKey(existing)).to.equal(undefined);
        const others = (i: Record<string, unknown>) => Object.fromEntries(Object.entries(i).filter(([k]) => k !== "kmsKeyId"));
        expect(others(now.inputs)).to.deep.equal(others(was.inputs));
        expect(now.urn).to.equal(was.urn);
        // Its host attaches it, and AWS Backup snapshots it, with the key EC2 reports the volume
        // is on (whatever the account's default is now): that one key, never every key of the account.
        const volumeKeyArn = was.state.kmsKeyId as string;
        expect(volumeKeyArn).to.match(/^arn:aws:kms:us-east-1:\d{12}:key\/[0-9a-z-]+$/);
        const host = grantStatement(existing, "gitaly-instance-policy");
        expect([host.Resource].flat()).to.deep.equal([volumeKeyArn]);
        expect(host.Condition.Bool["kms:GrantIsForAWSResource"]).to.equal("true");
        expect(host.Condition.StringEquals["kms:ViaService"]).to.equal("ec2.us-east-1.amazonaws.com");
        const backup = policyOf(existing, "gitaly-data-backup-policy").filter((s) => [s.Action].flat().some((a: string) => a.startsWith("kms:")));
        expect(backup.map((s) => s.Sid).sort()).to.deep.equal(["VolumeKey", "VolumeKeyGrant"]);
        for (const s of backup) expect([s.Resource].flat(), s.Sid).to.deep.equal([volumeKeyArn]);
        const anyKey = (policy: any[]) => policy.filter((s) => [s.Resource].flat().some((r: string) => /:key\/\*$/.test(r)));
        expect([...anyKey(policyOf(existing, "gitaly-instance-policy")), ...anyKey(policyOf(existing, "gitaly-data-backup-policy"))]).to.deep.equal([]);
    });
});
