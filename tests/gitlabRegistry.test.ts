import { expect } from "chai";
import { containerOf, evaluateContainer, mainTask, policyOf, T, taskOf, valueAt } from "./gitlabHelpers";
import { named, StackRun, stackRun } from "../sim/harness";

/** The container registry: its blobs in S3 under the bucket's own encryption, its metadata in PostgreSQL. */

const SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";

/** Each stack's task that runs the registry (dev: the single task; prod: the web tier), and its task role's policy name. */
const REGISTRY_TASKS = [
    { stack: "dev", task: (run: StackRun) => mainTask(run), policy: "gitlab-task-policy" },
    { stack: "prod", task: (run: StackRun) => taskOf(run, "web"), policy: "gitlab-web-task-policy" },
] as const;

describe("GitLab's container registry", () => {
    for (const r of REGISTRY_TASKS) {
        it(`${r.stack}: blobs take the bucket's SSE-KMS default (no encrypt override), with a key the task role can use`, async () => {
            const run = await stackRun(r.stack);
            const storage = valueAt(evaluateContainer(containerOf(r.task(run))), "registry['storage']");
            const bucket = named(run, T.bucket, "gitlab-registry");
            expect(storage.s3_v2.bucket).to.equal(bucket.state.bucket);
            // encrypt without keyid makes the driver send AES256 (SSE-S3) on every PUT, overriding the bucket's default.
            expect(storage.s3_v2, "no encrypt or keyid").to.not.have.any.keys("encrypt", "keyid");
            const rule = named(run, SSE, "gitlab-registry-sse").inputs.rules[0];
            expect(rule.applyServerSideEncryptionByDefault.sseAlgorithm).to.equal("aws:kms");
            const key = rule.applyServerSideEncryptionByDefault.kmsMasterKeyId;
            if (key !== undefined) {
                // A customer-managed key: the task role must be allowed to use it.
                const kms = policyOf(run, r.policy).filter((s) => [s.Resource].flat().includes(key));
                expect(kms.flatMap((s) => s.Action)).to.include.members(["kms:GenerateDataKey", "kms:Decrypt"]);
            }
        });
    }
});
