import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { ROOT } from "../sim/harness";

/**
 * The tools image the deploys run in (docs/decisions/ci-images.md): what
 * `ci tools image` builds and pushes on each kind of ref (.ci/tools-image.sh,
 * with a fake docker), and the first step of every job with a prod or deploy
 * role (.ci/tools-image-check.sh)
 * against the recorded line in .gitlab-ci.yml, the repository's own and the
 * one the build prints.
 */

const REGISTRY = "registry.example.com/group/platform";
const DIGEST = `sha256:${"5e".repeat(32)}`;

/** A scratch checkout: the two scripts, .gitlab-ci.yml (optionally edited) and a fake docker logging its calls. */
function checkout(editCi: (text: string) => string = (t) => t) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tools-image-"));
    fs.mkdirSync(path.join(dir, ".ci"));
    fs.mkdirSync(path.join(dir, "ci"));
    fs.mkdirSync(path.join(dir, "bin"));
    for (const f of [".ci/tools-image.sh", ".ci/tools-image-check.sh", "ci/Dockerfile", "ci/test.Dockerfile"]) {
        fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    }
    fs.writeFileSync(path.join(dir, ".gitlab-ci.yml"), editCi(fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8")));
    // `docker inspect` answers as Docker does after a push: repository@digest.
    fs.writeFileSync(
        path.join(dir, "bin/docker"),
        `#!/bin/bash\necho "docker $*" >>'${dir}/calls'\n[ "$1" = login ] && cat >/dev/null\nif [ "$1" = inspect ]; then echo "${REGISTRY}/ci-tools@${DIGEST}"; fi\nexit 0\n`,
        { mode: 0o755 },
    );
    // The tools image's build unless told otherwise (.gitlab-ci.yml: `ci tools image`).
    const run = (script: string, env: Record<string, string>, args = script === BUILD ? TOOLS_ARGS : []) => {
        fs.rmSync(path.join(dir, "calls"), { force: true });
        const r = spawnSync("bash", [path.join(dir, script), ...args], { env: { PATH: `${dir}/bin:${process.env.PATH}`, CI_REGISTRY_IMAGE: REGISTRY, ...env }, encoding: "utf8" });
        const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
    };
    return { dir, run, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const BUILD = ".ci/tools-image.sh";
const TOOLS_ARGS = ["ci/Dockerfile", "ci-tools"];

const BUILD_ENV = {
    CI_REGISTRY: "registry.example.com",
    CI_REGISTRY_USER: "gitlab-ci-token",
    CI_REGISTRY_PASSWORD: "job-token",
    CI_TOOLS_VERSION: "pulumi-3.274.1-docker-27.5.1-3",
    CI_COMMIT_SHORT_SHA: "0a1b2c3d",
    CI_JOB_ID: "4242",
    CI_DEFAULT_BRANCH: "main",
};

describe("the tools image (.ci/tools-image.sh, .ci/tools-image-check.sh)", () => {
    it("a merge request builds and pushes only its throwaway image, never a ci-tools tag", () => {
        const c = checkout();
        try {
            const mrImage = `${REGISTRY}/ci-tools/mr:7-0a1b2c3d`;
            const r = c.run(".ci/tools-image.sh", { ...BUILD_ENV, CI_MERGE_REQUEST_IID: "7", CI_TOOLS_MR_IMAGE: mrImage, CI_COMMIT_REF_PROTECTED: "true" });
            expect(r.status, r.stderr).to.equal(0);
            expect(r.calls.filter((l) => l.startsWith("docker push"))).to.deep.equal([`docker push ${mrImage}`]);
            expect(r.calls.join("\n")).to.not.include(`${REGISTRY}/ci-tools:`);
        } finally {
            c.done();
        }
    });

    it("an unprotected branch builds nothing and fails", () => {
        const c = checkout();
        try {
            const r = c.run(".ci/tools-image.sh", { ...BUILD_ENV, CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "false" });
            expect(r.status).to.equal(1);
            expect(r.calls).to.deep.equal([]);
        } finally {
            c.done();
        }
    });

    it("the protected default branch pushes a tag no other build reuses and prints the line whose digest the deploys then accept", () => {
        const c = checkout();
        let line: string;
        try {
            const r = c.run(".ci/tools-image.sh", { ...BUILD_ENV, CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" });
            expect(r.status, r.stderr).to.equal(0);
            const unique = `${REGISTRY}/ci-tools:${BUILD_ENV.CI_TOOLS_VERSION}-0a1b2c3d-4242`;
            expect(r.calls.filter((l) => l.startsWith("docker push"))).to.deep.equal([`docker push ${unique}`, `docker push ${REGISTRY}/ci-tools:${BUILD_ENV.CI_TOOLS_VERSION}`]);
            line = fs.readFileSync(path.join(c.dir, "ci-tools-image.txt"), "utf8").trimEnd();
            expect(r.stdout).to.include(line);
        } finally {
            c.done();
        }
        // That line, recorded in .gitlab-ci.yml by a merge request, is what the deploy's check accepts.
        const recorded = checkout((t) => t.replace(/^ {2}CI_TOOLS_IMAGE: &ci-tools-image .*$/m, line));
        try {
            const expectedImage = `${REGISTRY}/ci-tools:${BUILD_ENV.CI_TOOLS_VERSION}-0a1b2c3d-4242@${DIGEST}`;
            const ok = recorded.run(".ci/tools-image-check.sh", { CI_JOB_IMAGE: expectedImage });
            expect(ok.status, ok.stderr).to.equal(0);
            // GitLab may give the image as written: the same image.
            expect(recorded.run(".ci/tools-image-check.sh", { CI_JOB_IMAGE: expectedImage.replace(REGISTRY, "$CI_REGISTRY_IMAGE") }).status).to.equal(0);
            // Another digest, the bare tag, or no image: refused.
            for (const other of [expectedImage.replace(DIGEST, `sha256:${"0f".repeat(32)}`), `${REGISTRY}/ci-tools:${BUILD_ENV.CI_TOOLS_VERSION}`, ""]) {
                const refused = recorded.run(".ci/tools-image-check.sh", { CI_JOB_IMAGE: other });
                expect(refused.status, other).to.equal(1);
                expect(refused.stderr, other).to.include("not the recorded");
            }
        } finally {
            recorded.done();
        }
    });

    it("the same script builds the test image from ci/test.Dockerfile: its own MR image, version, tags and the CI_TEST_IMAGE line to record", () => {
        const c = checkout();
        const args = ["ci/test.Dockerfile", "ci-test"];
        const env = { ...BUILD_ENV, CI_TEST_VERSION: "node-20.19.5-debian-20261201-1" };
        try {
            const mrImage = `${REGISTRY}/ci-test/mr:7-0a1b2c3d`;
            const mr = c.run(BUILD, { ...env, CI_MERGE_REQUEST_IID: "7", CI_TEST_MR_IMAGE: mrImage, CI_TOOLS_MR_IMAGE: `${REGISTRY}/ci-tools/mr:7-0a1b2c3d` }, args);
            expect(mr.status, mr.stderr).to.equal(0);
            expect(mr.calls.filter((l) => l.startsWith("docker build"))).to.deep.equal([`docker build --pull -f ci/test.Dockerfile -t ${mrImage} ci`]);
            expect(mr.calls.filter((l) => l.startsWith("docker push"))).to.deep.equal([`docker push ${mrImage}`]);
            const main = c.run(BUILD, { ...env, CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" }, args);
            expect(main.status, main.stderr).to.equal(0);
            const unique = `${REGISTRY}/ci-test:${env.CI_TEST_VERSION}-0a1b2c3d-4242`;
            expect(main.calls.filter((l) => l.startsWith("docker push"))).to.deep.equal([`docker push ${unique}`, `docker push ${REGISTRY}/ci-test:${env.CI_TEST_VERSION}`]);
            const line = fs.readFileSync(path.join(c.dir, "ci-test-image.txt"), "utf8").trimEnd();
            expect(line).to.equal(`  CI_TEST_IMAGE: &ci-test-image $CI_REGISTRY_IMAGE/ci-test:${env.CI_TEST_VERSION}-0a1b2c3d-4242@${DIGEST}`);
            // It replaces exactly one line of .gitlab-ci.yml, its own.
            const ci = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
            const own = ci.split("\n").filter((l) => l.startsWith(line.slice(0, line.indexOf("$"))));
            expect(own).to.have.length(1);
            // Without its arguments, or with an image name it does not know the variables of: nothing built.
            for (const bad of [[], ["ci/test.Dockerfile"], ["ci/nothing.Dockerfile", "ci-test"], ["ci/test.Dockerfile", "Test Image"]]) {
                const r = c.run(BUILD, { ...env, CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" }, bad);
                expect(r.status, bad.join(" ")).to.equal(1);
                expect(r.calls, bad.join(" ")).to.deep.equal([]);
            }
        } finally {
            c.done();
        }
    });

    it("a version bump keeps the previous digest: the jobs with a prod or deploy role run it, and the build tags only the new version", () => {
        const previous = `$CI_REGISTRY_IMAGE/ci-tools:pulumi-3.274.0-docker-27.5.1-2-9f8e7d6c-4100@${DIGEST}`;
        const bumped = "pulumi-3.275.0-docker-27.5.1-4";
        // The bump merge request: ci/Dockerfile and CI_TOOLS_VERSION; CI_TOOLS_IMAGE as it was.
        const c = checkout((t) =>
            t.replace(/^ {2}CI_TOOLS_IMAGE: &ci-tools-image .*$/m, `  CI_TOOLS_IMAGE: &ci-tools-image ${previous}`).replace(/^ {2}CI_TOOLS_VERSION: .*$/m, `  CI_TOOLS_VERSION: "${bumped}"`),
        );
        try {
            // The first pipeline of main after the merge: prod's preview (needs: []) and the deploys run the previous digest.
            const check = c.run(".ci/tools-image-check.sh", { CI_JOB_IMAGE: previous.replace("$CI_REGISTRY_IMAGE", REGISTRY) });
            expect(check.status, check.stderr).to.equal(0);
            // Its `ci tools image` builds the new version, whatever CI_TOOLS_IMAGE holds.
            const build = c.run(".ci/tools-image.sh", { ...BUILD_ENV, CI_TOOLS_VERSION: bumped, CI_TOOLS_IMAGE: previous.replace("$CI_REGISTRY_IMAGE", REGISTRY), CI_COMMIT_BRANCH: "main", CI_COMMIT_REF_PROTECTED: "true" });
            expect(build.status, build.stderr).to.equal(0);
            expect(build.calls.filter((l) => l.startsWith("docker push"))).to.deep.equal([`docker push ${REGISTRY}/ci-tools:${bumped}-0a1b2c3d-4242`, `docker push ${REGISTRY}/ci-tools:${bumped}`]);
            expect(fs.readFileSync(path.join(c.dir, "ci-tools-image.txt"), "utf8")).to.equal(`  CI_TOOLS_IMAGE: &ci-tools-image $CI_REGISTRY_IMAGE/ci-tools:${bumped}-0a1b2c3d-4242@${DIGEST}\n`);
        } finally {
            c.done();
        }
    });

    it("the repository's own record: the check reads it, and a record without a digest stops every job with a prod or deploy role", () => {
        const c = checkout();
        try {
            const text = fs.readFileSync(path.join(ROOT, ".gitlab-ci.yml"), "utf8");
            const recorded = /^ {2}CI_TOOLS_IMAGE: &ci-tools-image (.*)$/m.exec(text)![1];
            const r = c.run(".ci/tools-image-check.sh", { CI_JOB_IMAGE: recorded.replace("$CI_REGISTRY_IMAGE", REGISTRY) });
            if (/@sha256:[0-9a-f]{64}$/.test(recorded)) {
                expect(r.status, r.stderr).to.equal(0);
            } else {
                expect(r.status).to.equal(1);
                // It found the line (it names it) and says what to do.
                expect(r.stderr).to.include(`records no digest ('${recorded}')`);
                expect(r.stderr).to.include("ci tools image");
            }
        } finally {
            c.done();
        }
    });
});
