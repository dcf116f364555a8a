import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { ROOT } from "../sim/harness";
import { baseJobName, expandedPipeline, jobsOf, PIPELINE_KINDS, PipelineKind, pipelineKind } from "./gitlabCiLocal";

/**
 * The project's CI/CD variables against the pipelines that need them. GitLab
 * hands a protected variable only to a pipeline whose ref is protected
 * (CI_COMMIT_REF_PROTECTED "true"; for a merge request: source and target
 * protected, "protected merge request pipelines" on, never a fork). So each
 * job that runs in a pipeline (gitlab-ci-local's rules) may read only the
 * variables that pipeline receives, by the flags the setup table (docs/operations/ci-setup.md) gives
 * them; otherwise it fails for want of one (prod's preview in an ordinary
 * merge request) or quietly skips its work (the merge-request note).
 */

/** docs/operations/ci-setup.md's variables table: name to its flags. */
function setupVariables(): Map<string, string> {
    const doc = fs.readFileSync(path.join(ROOT, "docs/operations/ci-setup.md"), "utf8");
    const rows = [...doc.matchAll(/^\s*\| `([A-Z][A-Z0-9_]+)` \|.*\|([^|]*)\|$/gm)];
    return new Map(rows.map((m) => [m[1], m[2].trim()]));
}

/** Everything a job reads: its expanded definition and the repository scripts it names, and theirs in turn. */
function jobText(job: unknown): string {
    const seen = new Set<string>();
    let text = JSON.stringify(job);
    for (let frontier = [text]; frontier.length > 0; ) {
        const files = frontier.flatMap((t) => [...t.matchAll(/(?:\.ci|ci)\/[\w.-]+\.(?:sh|ts)/g)].map((m) => m[0])).filter((f) => !seen.has(f));
        files.forEach((f) => seen.add(f));
        frontier = files.filter((f) => fs.existsSync(path.join(ROOT, f))).map((f) => fs.readFileSync(path.join(ROOT, f), "utf8"));
        text += frontier.join("\n");
    }
    return text;
}

describe("CI/CD variables reach the pipelines whose jobs read them", function () {
    this.timeout(180_000);
    let expanded: Record<string, any>;
    let variables: Map<string, string>;
    const reads = (name: string) => [...variables.keys()].filter((v) => new RegExp(`\\b${v}\\b`).test(jobText(expanded[name])));

    before(() => {
        expanded = expandedPipeline();
        variables = setupVariables();
    });

    it("docs/operations/ci-setup.md's table lists the variables (guards the reading below)", () => {
        expect([...variables.keys()]).to.include.members(["PULUMI_BACKEND_URL", "AWS_PREVIEW_ROLE_ARN_PROD", "GITLAB_API_TOKEN"]);
        // The dev preview posts the note: it reads the note's token (through .ci/preview.sh and ci/mrNote.ts).
        expect(reads("preview dev")).to.include.members(["GITLAB_API_TOKEN", "AWS_PREVIEW_ROLE_ARN_DEV", "PULUMI_BACKEND_URL"]);
        expect(reads("preview prod")).to.include("AWS_PREVIEW_ROLE_ARN_PROD");
    });

    for (const kind of Object.keys(PIPELINE_KINDS) as PipelineKind[]) {
        it(kind, () => {
            const protectedPipeline = pipelineKind(kind).vars.CI_COMMIT_REF_PROTECTED === "true";
            for (const name of jobsOf(kind).map((j) => baseJobName(j.replace(/ \((manual|delayed)\)$/, "")))) {
                const missing = reads(name).filter((v) => /protected/.test(variables.get(v)!) && !protectedPipeline);
                expect(missing, `${name} reads protected variables this pipeline never receives`).to.deep.equal([]);
            }
        });
    }

    it("the merge-request note's token reaches an ordinary merge request: not protected, least privilege", () => {
        const flags = variables.get("GITLAB_API_TOKEN")!;
        expect(flags).to.not.match(/protected/);
        expect(flags).to.match(/masked/);
        expect(jobsOf("merge request, unprotected source")).to.include("preview dev");
    });
});
