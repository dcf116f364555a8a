import { expect } from "chai";
import { containerOf, Evaluated, evaluateContainer, keyPath, mainTask, backupTask, T, taskOf, valueAt } from "./gitlabHelpers";
import { inComponent, stackRun, StackRun } from "../sim/harness";

/*
 * What GitLab keeps in S3, read as Rails will read it: every Rails role's
 * rendered config evaluated in Ruby against the buckets the stack made.
 */

/** Every GitLab task that runs Rails, by stack: the single task and its backup (dev), the split tiers (prod). */
const railsTasks = (stack: string, run: StackRun) =>
    stack === "dev" ? [mainTask(run), backupTask(run)] : ["web", "sidekiq", "migrate", "backup"].map((t) => taskOf(run, t));

/** The object types a role's config gives a bucket, each with that bucket. */
const objectBuckets = (e: Evaluated): Map<string, string> =>
    new Map(
        e.settings
            .filter((s) => keyPath(s.path).startsWith("gitlab_rails['object_store']['objects']") && s.path[s.path.length - 1] === "bucket")
            .map((s) => [s.path[3], s.value as string]),
    );

describe("GitLab object storage: external diffs in their bucket, no bucket for a feature that does not run", () => {
    for (const stack of ["dev", "prod"]) {
        it(`${stack}: every Rails role stores merge request diffs externally (outdated ones) in the external_diffs bucket`, async () => {
            const run = await stackRun(stack);
            const bucketName = new Map(inComponent(run, T.bucket, "gitlab").map((b) => [b.name, b.state.bucket]));
            for (const td of railsTasks(stack, run)) {
                const e = evaluateContainer(containerOf(td));
                expect(valueAt(e, "gitlab_rails['external_diffs_enabled']"), td.name).to.equal(true);
                expect(valueAt(e, "gitlab_rails['external_diffs_when']"), td.name).to.equal("outdated");
                expect(objectBuckets(e).get("external_diffs"), td.name).to.equal(bucketName.get("gitlab-external-diffs"));
            }
        });

        it(`${stack}: no Pages bucket while Pages does not run; every GitLab bucket is one the config uses`, async () => {
            const run = await stackRun(stack);
            const buckets = inComponent(run, T.bucket, "gitlab");
            expect(buckets.map((b) => b.name)).to.not.include("gitlab-pages");
            const [first] = railsTasks(stack, run);
            const e = evaluateContainer(containerOf(first));
            // Pages is off: Omnibus enables it only with pages_external_url, which is never rendered.
            expect(e.calls.map((c) => c.name)).to.not.include("pages_external_url");
            // The registry's bucket is read by the registry (checked with it in gitlab.test.ts).
            const used = new Set([...objectBuckets(e).values(), valueAt(e, "gitlab_rails['backup_upload_remote_directory']")]);
            for (const b of buckets.filter((x) => x.name !== "gitlab-registry")) {
                expect(used.has(b.state.bucket), `${b.name} serves nothing`).to.equal(true);
            }
            expect(objectBuckets(e).has("pages")).to.equal(false);
        });
    }
});
