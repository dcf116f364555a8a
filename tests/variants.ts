import { StackConfig, variantRun } from "../sim/harness";

/**
 * The patched stack runs more than one spec file reads, each under one key
 * and one patch: variantRun caches by key, so a second file with the same key
 * and another patch would silently read the first file's run.
 */

/** Prod as it was before the split: the single topology at GitLab's 8 vCPU / 16 GB baseline. */
export const prodSingle = () =>
    variantRun("prod-single", "prod", (c: StackConfig) => {
        Object.assign(c["platform:gitlab"], { topology: "single", cpu: 8192, memory: 16384 });
    });

/** Prod with Gitaly on EFS (Fargate) instead of the EC2 host's volume. */
export const prodGitalyOnEfs = () =>
    variantRun("prod-gitaly-efs", "prod", (c: StackConfig) => {
        c["platform:gitlab"].gitaly = { storage: "efs" };
    });

/** Prod as a stack deployed before rotation is at step 1 of turning it on (docs/decisions/app-service.md): the master password still ours. */
export const prodRotationStep1 = () =>
    variantRun("prod-rotation-step1", "prod", (c: StackConfig) => {
        c["platform:database"].masterPasswordRotationDays = 0;
    });

/** Prod as a stack whose registry was deployed before the metadata database, while it is imported (docs/decisions/gitlab-registry.md). */
export const prodRegistryImport = () =>
    variantRun("prod-registry-import", "prod", (c: StackConfig) => {
        c["platform:gitlab"].registryDatabase = "import";
    });

/** Prod as a stack whose Gitaly volume was made on the account's default EBS key, before the stack had a key of its own (docs/decisions/gitlab-split.md). */
export const prodGitalyAccountDefaultKey = () =>
    variantRun("prod-gitaly-account-default-key", "prod", (c: StackConfig) => {
        c["platform:gitlab"].gitaly.volume.encryptionKey = "accountDefault";
    });
