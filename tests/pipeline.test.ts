import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { ROOT } from "../sim/harness";
import { parseGitlabCi } from "../ci/gitlabYaml";
import { ciAudience } from "../components/deployIdentity/facts";
import { naming } from "../facts/naming";
import { tagOf, withoutMirror } from "../facts/imagePins";
import { projectName } from "../ci/assertTarget";
import { expandedPipeline, gcl, jobs, jobsAsCommitted, jobsOf, jobsWithoutDindDigest, PipelineKind, pipelineKind, PUSH_MAIN, RECORDED_DIGEST, valueInJob, withRecordedDigest } from "./gitlabCiLocal";

/**
 * .gitlab-ci.yml, checked with a real client: gitlab-ci-local (pinned 4.73.0)
 * validates it against GitLab's schema, evaluates its rules for each kind of
 * pipeline, and expands `extends` (--preview), so the assertions below see
 * each job as GitLab would (tests/gitlabCiLocal.ts).
 */

/** The whole pipeline with `extends` resolved, as gitlab-ci-local expands it. */
let expanded: Record<string, any>;
const job = (name: string) => {
    const j = expanded[name];
    expect(j, name).to.be.an("object");
    return j;
};
const TOOLS_IMAGE_CHECK = "bash .ci/tools-image-check.sh";
/** The test stage's jobs, as gitlab-ci-local names a parallel job's instances (tests/testStage.test.ts). */
const TESTS = ["test: types", "test: mocha: [1/3]", "test: mocha: [2/3]", "test: mocha: [3/3]", "test: app"];
const PULUMI_JOBS = ["preview dev", "preview prod", "deploy dev", "deploy prod", "drift dev", "drift prod"];
const PROJECT = projectName(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));

describe(".gitlab-ci.yml (gitlab-ci-local 4.73.0)", function () {
    this.timeout(120_000);

    before(() => {
        expanded = expandedPipeline();
    });

    it("validates against GitLab's CI schema", () => {
        const r = gcl(["--list-json"]);
        expect(r.stderr).to.include("json schema validated");
        expect(JSON.parse(r.stdout).length).to.be.greaterThan(5);
    });

    describe("the jobs of each kind of pipeline", () => {
        const expected: Record<PipelineKind, string[]> = {
            // Nothing with AWS, nothing built.
            "push, unprotected branch": TESTS,
            // Test, prod's preview, dev, then prod by hand (the pipeline green without it); the
            // tools image is not rebuilt (the deploys run the recorded digest), only offered by hand.
            "push, protected default branch": ["ci tools image (manual)", ...TESTS, "preview prod", "deploy dev", "deploy prod (manual)"],
            // The image whose digest a merge request then records; nothing here waits for it.
            "push, protected default branch, ci/Dockerfile changed": ["ci tools image", ...TESTS, "preview prod", "deploy dev", "deploy prod (manual)"],
            // Prod only as the offline plan: the branch's code never runs with a prod role.
            "merge request, unprotected source": [...TESTS, "preview dev", "plan prod"],
            "merge request, protected source and target": [...TESTS, "preview dev", "preview prod"],
            // Not protected, so AWS_PREVIEW_ROLE_ARN_PROD never reaches it: the plan, not a failing preview.
            "merge request, protected source, unprotected target": [...TESTS, "preview dev", "plan prod"],
            // The throwaway image for the dev preview.
            "merge request, ci/Dockerfile changed": ["ci tools image", ...TESTS, "preview dev", "plan prod"],
            // A fork: no registry write, no AWS role, no note token, whatever its branches.
            "fork merge request, in the fork's project": [...TESTS, "plan prod"],
            "fork merge request, run in this project": [...TESTS, "plan prod"],
            // Drift only: the code was tested when it was pushed.
            schedule: ["drift dev", "drift prod"],
        };
        for (const [kind, list] of Object.entries(expected)) {
            it(kind, () => {
                expect(jobsOf(kind as PipelineKind)).to.deep.equal(list);
            });
        }

        it("before a tools-image digest is recorded, no pipeline has a job with a prod or deploy role (the rule decides outside the image)", () => {
            const committed = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
            // The scenarios above run with a digest recorded (tests/gitlabCiLocal.ts): the file as it will run.
            const digestLine = /CI_TOOLS_IMAGE: &ci-tools-image \S+@sha256:[0-9a-f]{64}$/m;
            const recorded = digestLine.test(committed);
            // The stand-in only where nothing is recorded; a recorded digest is kept as it is.
            expect(withRecordedDigest(committed)).to.match(recorded ? digestLine : new RegExp(`@${RECORDED_DIGEST}$`, "m"));
            const gated = ["preview prod", "deploy dev", "deploy prod", "drift dev", "drift prod"];
            for (const kind of Object.keys(expected) as PipelineKind[]) {
                const asCommitted = jobsAsCommitted(kind);
                const withDigest = jobsOf(kind).map((j) => j.replace(/ \(\w+\)$/, ""));
                expect(asCommitted, kind).to.deep.equal(recorded ? withDigest : withDigest.filter((j) => !gated.includes(j)));
            }
            // Not vacuous: with a digest, those jobs exist.
            expect(gated.every((j) => Object.keys(expected).some((kind) => jobsOf(kind as PipelineKind).some((n) => n.startsWith(j))))).to.equal(true);
        });

        it("a merge request that changes .gitlab-ci.yml verifies its image records against GitLab (a fork's never; no push)", () => {
            const mr = pipelineKind("merge request, unprotected source");
            expect(jobs(mr.vars, mr.unset, [".gitlab-ci.yml"])).to.include("verify image records");
            expect(jobs(mr.vars, mr.unset, ["ci/Dockerfile"])).to.not.include("verify image records");
            const fork = pipelineKind("fork merge request, in the fork's project");
            expect(jobs(fork.vars, fork.unset, [".gitlab-ci.yml"])).to.not.include("verify image records");
            expect(jobs(PUSH_MAIN, [], [".gitlab-ci.yml"])).to.not.include("verify image records");
            expect(job("verify image records").script.at(-1)).to.equal("node_modules/.bin/ts-node --transpile-only tools/verifyImageRecord.ts .gitlab-ci.yml");
            // What it reads stays as long as a record may name it.
            expect(["ci tools image", "ci test image"].map((n) => job(n).artifacts.expire_in)).to.deep.equal(["never", "never"]);
        });

        it("until the deploys' Docker-in-Docker is pinned by digest, no deploy exists; every other job does", () => {
            for (const kind of Object.keys(expected) as PipelineKind[]) {
                const withDigest = jobsOf(kind).map((j) => j.replace(/ \(\w+\)$/, ""));
                expect(jobsWithoutDindDigest(kind), kind).to.deep.equal(withDigest.filter((j) => !["deploy dev", "deploy prod"].includes(j)));
            }
            expect(jobsOf("push, protected default branch")).to.include.members(["deploy dev", "deploy prod (manual)"]);
        });

        it("the jobs that build images run the Docker CLI and daemon as written in the file, never through a variable", () => {
            const top = expanded.variables as Record<string, string>;
            for (const name of ["ci tools image", "ci test image", "deploy dev", "deploy prod"]) {
                const j = job(name);
                expect(j.services, name).to.deep.equal([{ name: top.DIND_IMAGE, alias: "docker" }]);
                if (!name.startsWith("deploy")) {
                    expect(j.image.name, name).to.equal(top.DOCKER_IMAGE);
                }
            }
            for (const v of ["DOCKER_IMAGE", "DIND_IMAGE"]) {
                expect(top[v], v).to.match(/^docker:[\w.-]+(@sha256:[0-9a-f]{64})?$/);
            }
        });

        it("a push to an unprotected default branch deploys nothing (the deploy runner takes protected refs only)", () => {
            expect(jobs({ ...PUSH_MAIN, CI_COMMIT_REF_PROTECTED: "false" })).to.deep.equal(TESTS);
        });

        it("the dev preview runs the merge request's throwaway image only when it changes ci/Dockerfile, else the recorded one", () => {
            const top = expanded.variables as Record<string, string>;
            const image = (kind: PipelineKind) => {
                const k = pipelineKind(kind);
                return valueInJob(job("preview dev"), top, "PREVIEW_IMAGE", { ...k.vars, CI_REGISTRY_IMAGE: "registry.example.com/group/platform", CI_COMMIT_SHORT_SHA: "0a1b2c3d" }, k.unset, k.changed);
            };
            expect(job("preview dev").image.name).to.equal("$PREVIEW_IMAGE");
            expect(image("merge request, ci/Dockerfile changed")).to.equal("registry.example.com/group/platform/ci-tools/mr:7-0a1b2c3d");
            expect(image("merge request, unprotected source")).to.equal(top.CI_TOOLS_IMAGE.replace("$CI_REGISTRY_IMAGE", "registry.example.com/group/platform"));
        });
    });

    it("the test jobs run exactly the README's test command, each its part (tests/testStage.test.ts), with JUnit reports, coverage and lock-keyed caches", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const block = /```bash\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf("## Fresh machine")))![1];
        const lines = block.split("\n");
        const command = lines[lines.findIndex((l) => l.startsWith("# 2.")) + 1].trim();
        expect(command).to.equal("bash scripts/setup.sh && npm test");
        // The same command CI runs here (.ci/run).
        expect(fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8").trim().split("\n").pop()).to.equal(command);
        for (const name of ["test: types", "test: mocha", "test: app"]) {
            const t = job(name);
            expect(t.script, name).to.deep.equal([command]);
            expect(t.variables.REPORTS_DIR, name).to.equal("reports");
            expect(t.artifacts.when, name).to.equal("always");
            expect(t.interruptible, name).to.equal(true);
        }
        const app = job("test: app");
        expect(app.services.map((s: any) => s.name)).to.deep.equal(["$POSTGRES_IMAGE"]);
        expect(app.variables.DATABASE_URL).to.match(/^postgres:\/\/app:[^@]+@postgres:5432\/app_test$/);
        expect([job("test: mocha"), app].flatMap((t) => t.artifacts.reports.junit)).to.deep.equal(["reports/mocha.xml", "reports/pytest.xml"]);
        expect(new RegExp(app.coverage.slice(1, -1), "m").exec("Name  Stmts  Miss  Cover\nTOTAL                                          393    105    73%\n")?.[1]).to.equal("73%");
        expect(["test: types", "test: mocha", "test: app"].map((n) => job(n).cache.map((c: any) => c.key.files))).to.deep.equal([[["package-lock.json"]], [["package-lock.json"]], [["app/requirements-dev.txt"]]]);
    });

    it("test-all.sh writes both JUnit reports when REPORTS_DIR is set (the reporters exist and are configured)", () => {
        const script = fs.readFileSync(path.join(ROOT, "scripts/test-all.sh"), "utf8");
        expect(script).to.include('MOCHA_FILE="$reports/mocha.xml"');
        expect(script).to.include('--junitxml="$reports/pytest.xml"');
        const config = JSON.parse(fs.readFileSync(path.join(ROOT, ".ci/mocha-reporters.json"), "utf8"));
        for (const reporter of config.reporterEnabled.split(",").map((r: string) => r.trim())) {
            if (reporter !== "spec") {
                expect(() => require.resolve(reporter, { paths: [ROOT] }), reporter).to.not.throw();
            }
        }
    });

    it("every Pulumi job reaches AWS by OIDC web identity, with no static keys anywhere", () => {
        const text = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
        expect(text).to.not.match(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN/);
        for (const name of PULUMI_JOBS) {
            const j = job(name);
            expect(j.variables.AWS_ROLE_ARN, name).to.match(/^\$AWS_(PREVIEW|DEPLOY)_ROLE_ARN_(DEV|PROD)$/);
            // One token, for the role the job uses and no other (docs/decisions/deploy-identity.md); a literal, so no pipeline variable moves it.
            const kind = /DEPLOY/.test(j.variables.AWS_ROLE_ARN) ? "deploy" : "preview";
            expect(j.id_tokens, name).to.deep.equal({ AWS_ID_TOKEN: { aud: ciAudience(naming(PROJECT, j.variables.STACK), kind) } });
            // The target is checked before the first AWS call (tests/ciTarget.test.ts runs this line).
            expect(j.before_script.indexOf("node_modules/.bin/ts-node --transpile-only ci/assertTarget.ts"), name).to.be.within(0, j.before_script.indexOf('pulumi login "$PULUMI_BACKEND_URL"') - 1);
            expect(j.variables.AWS_WEB_IDENTITY_TOKEN_FILE, name).to.be.a("string");
            // Transpiled only (`test: types` checks the types): the language host reads this variable.
            expect(j.variables.PULUMI_NODEJS_TRANSPILE_ONLY, name).to.equal("true");
            // The deploys check their image first (below), then the same steps.
            const steps = j.before_script.filter((l: string) => l !== TOOLS_IMAGE_CHECK);
            expect(steps[0], name).to.equal(`printf '%s' "$AWS_ID_TOKEN" >"$AWS_WEB_IDENTITY_TOKEN_FILE"`);
            expect(j.before_script, name).to.include('pulumi login "$PULUMI_BACKEND_URL"');
            expect(j.image.name, name).to.equal(name === "preview dev" ? "$PREVIEW_IMAGE" : expanded.variables.CI_TOOLS_IMAGE);
            expect(j.timeout, name).to.match(/^\d+m$/);
        }
        expect(fs.readFileSync(path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/run/run.js"), "utf8")).to.include('process.env["PULUMI_NODEJS_TRANSPILE_ONLY"]');
        // No other job asks for a token.
        expect(Object.keys(expanded).filter((n) => expanded[n]?.id_tokens)).to.deep.equal(PULUMI_JOBS);
        // Only the deploy jobs may change anything, and only they use the deploy roles.
        expect(PULUMI_JOBS.filter((n) => /DEPLOY/.test(job(n).variables.AWS_ROLE_ARN))).to.deep.equal(["deploy dev", "deploy prod"]);
    });

    it("previews and drift checks change nothing and build nothing; deploys build through Docker-in-Docker over TLS", () => {
        for (const name of ["preview dev", "preview prod", "drift dev", "drift prod"]) {
            const j = job(name);
            expect(j.services ?? [], name).to.deep.equal([]);
            // No engine: the docker provider (loaded for the builds in the state) skips its ping
            // only for an ssh:// host (pulumi-docker v4.11.2 configureDockerClient), and a .invalid
            // name never resolves, so nothing is reached even if something dialled it.
            expect(j.variables.DOCKER_HOST, name).to.match(/^ssh:\/\/[a-z-]+\.invalid$/);
            expect(j.script.join("\n"), name).to.not.match(/pulumi up|docker /);
            expect(j.interruptible, name).to.equal(true);
        }
        // Drift: AWS against the last deployed state, not against code prod has not received yet.
        for (const name of ["drift dev", "drift prod"]) {
            expect(job(name).script.join(" "), name).to.match(/pulumi refresh --stack "\$STACK" --preview-only --expect-no-changes/);
        }
        for (const name of ["deploy dev", "deploy prod"]) {
            const j = job(name);
            // The daemon that builds and pushes: the pipeline's dind image, written out (no variable,
            // a project variable included, can swap it; a digest, once pinned, follows the tag).
            const top = expanded.variables as Record<string, string>;
            expect(j.services, name).to.deep.equal([{ name: top.DIND_IMAGE, alias: "docker" }]);
            expect(top.DIND_IMAGE).to.not.include("$");
            expect(j.variables, name).to.include({ DOCKER_HOST: "tcp://docker:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/certs/client", DOCKER_TLS_CERTDIR: "/certs", AWS_ECR_DISABLE_CACHE: "true" });
            // The helper's Docker config lives and dies with the job's build directory.
            expect(j.variables.DOCKER_CONFIG, name).to.match(/^\$CI_PROJECT_DIR\/\.[\w-]+$/);
            // The deploy fleet's own npm cache: deploys write it, nothing else runs there but drift.
            expect(j.cache.map((c: any) => [c.key.files, c.policy]), name).to.deep.equal([[["package-lock.json"], "pull-push"]]);
            // The admin gate reads the preview before anything is applied; the policy pack checks both.
            // `pulumi up` runs with the job's deadline exported (tests/deployTimeline.test.ts runs those lines).
            // The builds log in to ECR through its credential helper, named for the stack's registry
            // before `up` (tests/ecrCredentials.test.ts), keeping no token on disk.
            expect(j.script.slice(0, 9), name).to.deep.equal([
                'pulumi preview --stack "$STACK" --non-interactive --json $(bash .ci/policy-args.sh "$STACK") >preview.json',
                "node_modules/.bin/ts-node --transpile-only ci/adminGate.ts preview.json",
                'node_modules/.bin/ts-node --transpile-only ci/ancestry.ts "$STACK"',
                'node_modules/.bin/ts-node --transpile-only ci/ecrCredentials.ts "$STACK"',
                'DEPLOY_DEADLINE="$(node_modules/.bin/ts-node --transpile-only ci/deployDeadline.ts)"',
                "export DEPLOY_DEADLINE",
                "left=$(( DEPLOY_DEADLINE - $(date +%s) ))",
                '[ "$left" -ge 60 ] || { echo "deploy: ${left} s left before DEPLOY_DEADLINE, pulumi up not started" >&2; exit 1; }',
                'timeout --signal=INT --kill-after=4m "${left}s" pulumi up --yes --skip-preview --stack "$STACK" --non-interactive --diff --color never $(bash .ci/policy-args.sh "$STACK")',
            ]);
            expect(j.interruptible, name).to.equal(false);
            expect(j.artifacts.reports.dotenv, name).to.equal("deploy.env");
        }
    });

    it("one plan per deploy: the admin gate's preview is the only run of the program before `up`, which applies without planning again", () => {
        for (const name of ["deploy dev", "deploy prod"]) {
            // The commands, quoted text (a message naming `pulumi up`) left out.
            const steps: string[] = [...job(name).before_script, ...job(name).script].map((l: string) => l.replace(/"[^"]*"|'[^']*'/g, '""'));
            // A program run that plans: every `pulumi preview`, and `pulumi up` unless it skips its preview.
            const plans = steps.filter((l) => /\bpulumi preview\b/.test(l) || (/\bpulumi up\b/.test(l) && !/ --skip-preview\b/.test(l)));
            const applies = steps.filter((l) => /\bpulumi (up|refresh|destroy)\b/.test(l));
            expect(plans, name).to.have.length(1);
            expect(plans[0], name).to.match(/--json .*>preview\.json$/);
            expect(applies, name).to.have.length(1);
            expect(applies[0], name).to.match(/pulumi up --yes --skip-preview /);
            // The gate reads that plan before anything is applied.
            const gate = steps.findIndex((l) => l.startsWith("node_modules/.bin/ts-node --transpile-only ci/adminGate.ts preview.json"));
            expect(steps.indexOf(plans[0]), name).to.be.within(0, gate - 1);
            expect(gate, name).to.be.below(steps.indexOf(applies[0]));
        }
    });

    it("deploys: one at a time per stack, tracked as environments, prod after dev on protected refs only", () => {
        expect(job("deploy dev")).to.deep.include({ resource_group: "pulumi-dev", environment: { name: "dev", url: "$APP_URL" } });
        expect(job("deploy prod")).to.deep.include({ resource_group: "pulumi-prod", environment: { name: "production", url: "$APP_URL" } });
        const needs = (name: string) => job(name).needs.map((n: any) => (typeof n === "string" ? n : n.job));
        expect(needs("deploy prod")).to.include.members(["deploy dev", "preview prod"]);
        // Not dev's dotenv: its APP_URL would name prod's environment.
        expect(job("deploy prod").needs.find((n: any) => n.job === "deploy dev").artifacts).to.equal(false);
        expect(job("deploy prod").rules).to.deep.equal([
            // Before a tools-image digest is recorded it does not exist (the test of the pipeline kinds above).
            { if: "$CI_TOOLS_IMAGE !~ /@sha256:[0-9a-f]{64}$/", when: "never" },
            // Nor before its Docker-in-Docker is pinned.
            { if: "$DIND_IMAGE !~ /@sha256:[0-9a-f]{64}$/", when: "never" },
            { if: '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_COMMIT_REF_PROTECTED == "true"', when: "manual", allow_failure: true },
        ]);
        expect(needs("deploy dev")).to.include.members(["test: types", "test: mocha", "test: app"]);
        // Prod's preview on main waits for dev's deploy (prod runs the images dev pushes), without its dotenv.
        expect(job("preview prod").needs).to.deep.equal([{ job: "deploy dev", artifacts: false, optional: true }]);
    });

    it("the deploys run the recorded tools image, its text and not a variable, check it before anything else, and are never retried", () => {
        const recorded: string = expanded.variables.CI_TOOLS_IMAGE;
        // The text as written in .gitlab-ci.yml: no variable a pipeline could override but the
        // registry's, which a digest makes irrelevant.
        expect(recorded).to.match(/^\$CI_REGISTRY_IMAGE\/ci-tools:[\w.-]+(@sha256:[0-9a-f]{64})?$/);
        for (const name of ["deploy dev", "deploy prod", "preview prod", "drift dev", "drift prod"]) {
            expect(job(name).image.name, name).to.equal(recorded);
        }
        for (const name of ["deploy dev", "deploy prod"]) {
            expect(job(name).before_script[0], name).to.equal(TOOLS_IMAGE_CHECK);
            expect(job(name).retry, name).to.equal(0);
            // No Pulumi job waits for the tools image any more.
            expect(JSON.stringify(job(name).needs), name).to.not.include("ci tools image");
        }
        expect(job("ci tools image").script).to.deep.equal(["bash .ci/tools-image.sh ci/Dockerfile ci-tools"]);
    });

    it("the image check runs first in exactly the jobs that run the recorded image, which are exactly those with a prod or deploy role or on the deploy runner", () => {
        const recorded: string = expanded.variables.CI_TOOLS_IMAGE;
        const real = Object.entries(expanded).filter(([, j]) => j && typeof j === "object" && "script" in j) as [string, any][];
        const names = (keep: (j: any) => boolean) => real.filter(([, j]) => keep(j)).map(([n]) => n);
        const checked = names((j) => (j.before_script ?? []).includes(TOOLS_IMAGE_CHECK));
        // Anything but dev's preview role (a bare tag there only runs what the branch's code could anyway).
        const privileged = names((j) => (j.variables?.AWS_ROLE_ARN !== undefined && j.variables.AWS_ROLE_ARN !== "$AWS_PREVIEW_ROLE_ARN_DEV") || (j.tags ?? []).includes("platform-deploy"));
        expect(privileged).to.have.members(["preview prod", "deploy dev", "deploy prod", "drift dev", "drift prod"]);
        expect(checked).to.deep.equal(privileged);
        expect(names((j) => j.image?.name === recorded)).to.deep.equal(privileged);
        for (const name of checked) {
            // Before npm runs a package or the role is used.
            expect(job(name).before_script[0], name).to.equal(TOOLS_IMAGE_CHECK);
        }
    });

    it("retries what the infrastructure lost (runner, scheduler, API), never a script's failure, in every job but the deploys", () => {
        // gitlab-ci-local's expansion leaves `default` out: a job's own retry, else the default's (GitLab's rule).
        const defaults = parseGitlabCi(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8")).default as { retry?: unknown } | undefined;
        const real = Object.entries(expanded).filter(([, j]) => j && typeof j === "object" && "script" in j);
        expect(real.length).to.be.greaterThan(8);
        for (const [name, j] of real as [string, any][]) {
            expect(j.inherit, name).to.equal(undefined);
            const retry = j.retry ?? defaults?.retry;
            if (name.startsWith("deploy ")) {
                expect(retry, name).to.equal(0);
                continue;
            }
            expect(retry?.max, name).to.equal(2);
            expect(retry.when, name).to.include.members(["runner_system_failure", "scheduler_failure"]);
            for (const own of ["always", "script_failure", "job_execution_timeout", "unknown_failure"]) {
                expect(retry.when, name).to.not.include(own);
            }
        }
    });

    it("merge-request previews are exposed in the merge request and keep the offline plan beside them", () => {
        for (const stack of ["dev", "prod"]) {
            const j = job(`preview ${stack}`);
            expect(j.artifacts.expose_as).to.equal(`pulumi preview ${stack}`);
            expect(j.artifacts.paths).to.deep.equal(["preview/"]);
            expect(j.script).to.deep.equal(["bash .ci/preview.sh"]);
            expect(j.variables.STACK).to.equal(stack);
        }
    });

    it("pins every image in one place: the top-level variables, with explicit versions", () => {
        const top = expanded.variables as Record<string, string>;
        const images = Object.entries(expanded)
            .filter(([, j]) => j && typeof j === "object" && "script" in j)
            .flatMap(([, j]: [string, any]) => [j.image?.name, ...(j.services ?? []).map((s: any) => s.name)].map((i) => ({ image: i, own: j.variables ?? {} })))
            .filter((x): x is { image: string; own: Record<string, string> } => typeof x.image === "string");
        expect(images.length).to.be.greaterThan(8);
        for (const { image, own } of images) {
            if ([expanded.variables.CI_TOOLS_IMAGE, expanded.variables.DOCKER_IMAGE, expanded.variables.DIND_IMAGE].includes(image)) {
                continue; // the recorded tools image and the image-building images, by their text (below)
            }
            expect(image, "a job names its image by variable").to.match(/^\$[A-Z_]+$/);
            // One level of the pipeline's own variables expanded (the tools image names its version).
            // (The dev preview's image variable is its own, the recorded tools image by default.)
            const value = (own[image.slice(1)] ?? top[image.slice(1)])?.replace(/\$([A-Z_]+)/g, (m, v: string) => top[v] ?? m);
            expect(value, image).to.be.a("string");
            // The tag names a version, whether or not a digest follows it.
            expect(tagOf(value), image).to.not.match(/:latest$/);
            expect(tagOf(value), image).to.match(/:[\w.-]*\d[\w.-]*$/);
        }
        // The tools image's version names the CLI and Docker versions ci/Dockerfile pins.
        const dockerfile = fs.readFileSync(path.join(ROOT, "ci/Dockerfile"), "utf8");
        const pulumiVersion = /FROM pulumi\/pulumi-nodejs-22:([^\s@]+)/.exec(dockerfile)![1];
        const dockerVersion = /FROM docker:([^\s@]+)-cli/.exec(dockerfile)![1];
        expect(top.CI_TOOLS_VERSION).to.match(new RegExp(`^pulumi-${pulumiVersion.replace(/\./g, "\\.")}-docker-${dockerVersion.replace(/\./g, "\\.")}-\\d+$`));
        // (A recorded digest follows the tag.)
        expect(withoutMirror(top.DOCKER_IMAGE).split("@")[0]).to.equal(`docker:${dockerVersion}`);
        expect(withoutMirror(top.DIND_IMAGE).split("@")[0]).to.equal(`docker:${dockerVersion}-dind`);
        // The recorded tools image: a build's own tag (a version, commit, job) and its digest, the
        // previous version's while a bump waits for its digest to be recorded
        // (docs/decisions/ci-images.md); this version's tag alone only before the first digest is ever recorded.
        // As committed (the scenarios' scratch copy records a stand-in digest).
        const recorded = (parseGitlabCi(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8")).variables as Record<string, string>).CI_TOOLS_IMAGE;
        if (!recorded.includes("@")) {
            expect(recorded).to.equal(`$CI_REGISTRY_IMAGE/ci-tools:${top.CI_TOOLS_VERSION}`);
        } else {
            expect(recorded).to.match(/^\$CI_REGISTRY_IMAGE\/ci-tools:pulumi-[\d.]+-docker-[\d.]+-\d+-[0-9a-f]{8}-\d+@sha256:[0-9a-f]{64}$/);
        }
        // The plugins baked into it are the ones the installed packages ask for, no more, no fewer.
        const baked = [...dockerfile.matchAll(/pulumi plugin install resource (\S+) (\S+)/g)].map((m) => `${m[1]}@${m[2]}`).sort();
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const declared = Object.keys(pkg.dependencies)
            .filter((d) => d.startsWith("@pulumi/"))
            .map((d) => JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", d, "package.json"), "utf8")).pulumi)
            .filter((p) => p?.resource)
            .map((p) => `${p.name}@${p.version}`)
            .sort();
        expect(baked).to.deep.equal(declared);
    });
});

