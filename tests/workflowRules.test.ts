import { expect } from "chai";
import { pipelineCreated, PUSH_MAIN } from "./gitlabCiLocal";

/**
 * Which pushes and events create a pipeline at all (.gitlab-ci.yml's
 * `workflow:rules`, evaluated by gitlab-ci-local through a probe job,
 * tests/gitlabCiLocal.ts). GitLab sets CI_OPEN_MERGE_REQUESTS on a branch
 * pipeline when the branch is the source of an open merge request.
 */
describe("workflow:rules: which pipelines exist", function () {
    this.timeout(60_000);
    const OPEN_MR = { CI_OPEN_MERGE_REQUESTS: "platform/infrastructure!7" };
    const branch = (name: string, protectedRef: boolean) => ({ CI_PIPELINE_SOURCE: "push", CI_COMMIT_BRANCH: name, CI_DEFAULT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: String(protectedRef) });

    it("a push to the default branch runs its pipeline (the deploys) even when a merge request has main as its source", () => {
        // Any Developer may open such a merge request; without this every main pipeline would stop existing.
        expect(pipelineCreated({ ...PUSH_MAIN, ...OPEN_MR })).to.equal(true);
        expect(pipelineCreated(PUSH_MAIN, ["CI_OPEN_MERGE_REQUESTS"])).to.equal(true);
    });

    it("another branch with an open merge request runs its merge-request pipeline only; without one, its branch pipeline", () => {
        expect(pipelineCreated({ ...branch("feature/x", false), ...OPEN_MR })).to.equal(false);
        expect(pipelineCreated(branch("feature/x", false), ["CI_OPEN_MERGE_REQUESTS"])).to.equal(true);
        expect(pipelineCreated({ CI_PIPELINE_SOURCE: "merge_request_event", CI_MERGE_REQUEST_IID: "7", CI_DEFAULT_BRANCH: "main" }, ["CI_COMMIT_BRANCH"])).to.equal(true);
    });

    it("a schedule runs; a tag (no branch) does not", () => {
        expect(pipelineCreated({ ...PUSH_MAIN, CI_PIPELINE_SOURCE: "schedule" })).to.equal(true);
        expect(pipelineCreated({ CI_PIPELINE_SOURCE: "push", CI_COMMIT_TAG: "v1", CI_DEFAULT_BRANCH: "main" }, ["CI_COMMIT_BRANCH"])).to.equal(false);
    });
});
