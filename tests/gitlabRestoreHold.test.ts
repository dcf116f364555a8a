import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { ECS_MAX_GRACE_SECONDS, RESTORE_HOLD_SECONDS } from "../components/gitlab/facts";
import { GITLAB_GRACE_SECONDS, SINGLE_HEALTH_CHECK } from "../components/gitlab/readiness";
import { named, Resource, ROOT, StackConfig, stackRun, StackRun, variantRun } from "../sim/harness";
import { containerOf, mainTask, T } from "./gitlabHelpers";

/*
 * gitlab.holdForRestore (docs/operations/restore.md, single topology): the
 * one GitLab task without its container check and with a grace period long
 * enough for `gitlab-backup restore` with Puma stopped; everything else as
 * it was.
 */

const devHeld = () =>
    variantRun("dev-hold-for-restore", "dev", (c: StackConfig) => {
        c["platform:gitlab"].holdForRestore = true;
    });

const gitlabService = (run: StackRun) => named(run, T.service, "gitlab");

/** What a resource is to the engine: its inputs and options (what `pulumi up` would diff). */
function shape(r: Resource) {
    return {
        type: r.type,
        parentUrn: r.parentUrn,
        inputs: r.inputs,
        dependencies: [...r.dependencies].sort(),
        protect: r.protect,
        ignoreChanges: r.ignoreChanges,
        retainOnDelete: r.retainOnDelete,
        deleteBeforeReplace: r.deleteBeforeReplace,
        replaceOnChanges: r.replaceOnChanges,
        customTimeouts: r.customTimeouts,
        provider: r.provider,
    };
}

describe("gitlab.holdForRestore (single topology)", function () {
    this.timeout(300_000);

    it("dev as committed: the container check of readiness.ts and the grace of GITLAB_GRACE_SECONDS", async () => {
        const run = await stackRun("dev");
        expect(run.error).to.equal(undefined);
        expect(containerOf(mainTask(run)).healthCheck).to.deep.equal(SINGLE_HEALTH_CHECK);
        expect(gitlabService(run).inputs.healthCheckGracePeriodSeconds).to.equal(GITLAB_GRACE_SECONDS);
    });

    it("held: the grace is RESTORE_HOLD_SECONDS and the gitlab container has no health check", async () => {
        const run = await devHeld();
        expect(run.error).to.equal(undefined);
        expect(gitlabService(run).inputs.healthCheckGracePeriodSeconds).to.equal(RESTORE_HOLD_SECONDS);
        const c = containerOf(mainTask(run));
        expect(c.name).to.equal("gitlab");
        expect(c).to.not.have.property("healthCheck");
    });

    it("held: the plan and `pulumi up` warn, once, until it is set back", async () => {
        const held = (await devHeld()).warnings.filter((w) => w.includes("holdForRestore"));
        expect(held).to.deep.equal([
            `Pulumi.dev.yaml: gitlab.holdForRestore is on: the GitLab task has no container check and ECS ignores its failed load balancer checks for ${RESTORE_HOLD_SECONDS / 3600} h after it starts; set it back to false once the restore is done (docs/operations/restore.md)`,
        ]);
        expect((await stackRun("dev")).warnings.filter((w) => w.includes("holdForRestore"))).to.deep.equal([]);
    });

    it("held: only the GitLab service and its task definition differ from dev's graph", async () => {
        const [before, after] = [await stackRun("dev"), await devHeld()];
        expect(after.resources.map((r) => r.urn)).to.deep.equal(before.resources.map((r) => r.urn));
        const byUrn = new Map(before.resources.map((r) => [r.urn, r]));
        const changed = after.resources.filter((r) => JSON.stringify(shape(r)) !== JSON.stringify(shape(byUrn.get(r.urn)!))).map((r) => `${r.type} ${r.name}`);
        expect(changed.sort()).to.deep.equal([`${T.service} gitlab`, `${T.taskDef} gitlab`].sort());
        // The task definition differs by the health check alone.
        const { healthCheck, ...rest } = containerOf(mainTask(before));
        expect(healthCheck).to.deep.equal(SINGLE_HEALTH_CHECK);
        expect(containerOf(mainTask(after))).to.deep.equal(rest);
        expect({ ...mainTask(after).inputs, containerDefinitions: mainTask(before).inputs.containerDefinitions }).to.deep.equal(mainTask(before).inputs);
        // The service by its grace alone.
        expect({ ...gitlabService(after).inputs, healthCheckGracePeriodSeconds: GITLAB_GRACE_SECONDS }).to.deep.equal(gitlabService(before).inputs);
        expect(after.outputs).to.deep.equal(before.outputs);
    });

    it("holds longer than the usual grace and within ECS's maximum", () => {
        expect(RESTORE_HOLD_SECONDS).to.be.greaterThan(GITLAB_GRACE_SECONDS);
        expect(RESTORE_HOLD_SECONDS).to.be.below(ECS_MAX_GRACE_SECONDS);
        expect(Number.isInteger(RESTORE_HOLD_SECONDS)).to.equal(true);
    });

    it("the restore runbook states the hold as the constant has it", () => {
        const text = fs.readFileSync(path.join(ROOT, "docs/operations/restore.md"), "utf8").replace(/\s+/g, " ");
        expect(text).to.include(`for ${RESTORE_HOLD_SECONDS / 3600} hours from the task's start`);
        expect(text).to.include(`prints \`${RESTORE_HOLD_SECONDS}\` (the hold)`);
        expect(text).to.include("`gitlab.holdForRestore: true`");
    });
});
