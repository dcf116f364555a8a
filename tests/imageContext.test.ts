import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { exportContext } from "../hooks/buildContext";
import { imageSource } from "../facts/imageSource";
import { realGit } from "../hooks/git";
import { contextDigest, goFileMode } from "../sim/dockerContext";
import { named, runStack, StackRun } from "../sim/harness";

/**
 * Why images are built from an export of the folder's commit, not the
 * checkout: docker.Image hashes the context's file modes, so two checkouts of
 * one commit under different umasks (a laptop's 022, a GitLab runner's 000)
 * look like two different images.
 */

const TIME = "2026-01-01T00:00:00Z";

/** Runs `body` with the process's umask (and so its children's) set to `mask`. */
function withUmask<T>(mask: number, body: () => T): T {
    const old = process.umask(mask);
    try {
        return body();
    } finally {
        process.umask(old);
    }
}

function inDir<T>(dir: string, body: () => T): T {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
        return body();
    } finally {
        process.chdir(cwd);
    }
}

/** Runs `body` with `vars` added to the environment (git reads it in the child processes). */
function withEnv<T>(vars: Record<string, string>, body: () => T): T {
    const saved = { ...process.env };
    Object.assign(process.env, vars);
    try {
        return body();
    } finally {
        process.env = saved;
    }
}

async function inDirAsync<T>(dir: string, body: () => Promise<T>): Promise<T> {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
        return await body();
    } finally {
        process.chdir(cwd);
    }
}

const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_DATE: TIME, GIT_COMMITTER_DATE: TIME } }).trim();

/** Writes `files` (path to [content, mode]) under `dir`. */
function write(dir: string, files: Record<string, [string, number]>): void {
    for (const [file, [text, mode]] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
        fs.chmodSync(path.join(dir, file), mode);
    }
}

describe("image build context: a function of the folder's commit alone", () => {
    let tmp: string;
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "platform-context-"))));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("the ported context hash (sim/dockerContext.ts) prints what pulumi-docker's Go hashContext (v4.6.2 and v4.11.2 alike) printed for the same files", () => {
        const dir = path.join(tmp, "fixture");
        write(dir, {
            Dockerfile: ["FROM scratch\nCOPY . /\n", 0o644],
            "run.sh": ["#!/bin/sh\necho hi\n", 0o755],
            ".dockerignore": ["*.log\n!keep.log\n", 0o644],
            "a.log": ["noise\n", 0o644],
            "keep.log": ["kept\n", 0o644],
            "sub/x.txt": ["x\n", 0o644],
        });
        // Printed by the provider's own hashContext (provider/provider.go, the same code at
        // v4.6.2 and v4.11.2) built twice, each with its tag's pinned fsutil, afero and
        // patternmatcher (v4.6.2: fsutil 20230825212630-f09800878302, afero 1.10.0;
        // v4.11.2: fsutil 20250417144416-3f76f8130144, afero 1.12.0): both printed these,
        // for this directory and then with sub/x.txt at 0666 (only the mode differs).
        expect(contextDigest(dir)).to.equal("478e13389e16b05476dd519920d5529972160259efaf3d3b3ab8f76a150d820a");
        fs.chmodSync(path.join(dir, "sub/x.txt"), 0o666);
        expect(contextDigest(dir)).to.equal("4a10e79f94d58a59b6bb70534f5946c811414135a8f672becbf062e1920b6f57");
        expect([0o644, 0o755, 0o666, 0o777].map(goFileMode)).to.deep.equal(["-rw-r--r--", "-rwxr-xr-x", "-rw-rw-rw-", "-rwxrwxrwx"]);
    });

    describe("two checkouts of one commit, under umask 022 and 000", () => {
        const clones: Record<string, string> = {};
        before(() => {
            const origin = path.join(tmp, "origin");
            fs.mkdirSync(origin);
            git(origin, "init", "-q");
            write(origin, {
                "app/Dockerfile": ["FROM scratch\n", 0o644],
                "app/docker-entrypoint.sh": ["#!/bin/sh\nexec \"$@\"\n", 0o755],
                "app/.dockerignore": ["*\n!docker-entrypoint.sh\n", 0o644],
                "gitlab/Dockerfile": ["FROM scratch\n", 0o644],
                "gitlab/entrypoint.sh": ["#!/bin/sh\n", 0o755],
            });
            git(origin, "add", "-A");
            git(origin, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "images");
            for (const [name, mask] of [["laptop", 0o022], ["runner", 0o000]] as const) {
                clones[name] = path.join(tmp, name);
                withUmask(mask, () => git(tmp, "clone", "-q", origin, clones[name]));
            }
        });

        it("the checkouts hash differently (the old failure); their exports have one name and one hash, modes and times fixed", () => {
            expect(fs.statSync(path.join(clones.runner, "app/docker-entrypoint.sh")).mode & 0o777).to.equal(0o777);
            expect(contextDigest(path.join(clones.laptop, "app"))).to.not.equal(contextDigest(path.join(clones.runner, "app")));

            const exported = Object.fromEntries(
                Object.entries(clones).map(([name, dir]) => [name, inDir(dir, () => withUmask(name === "runner" ? 0 : 0o022, () => exportContext("app", imageSource("app", "amd64", realGit))))]),
            );
            const tree = git(clones.laptop, "rev-parse", "HEAD:app");
            expect(exported).to.deep.equal({ laptop: `.build/app-${tree}`, runner: `.build/app-${tree}` });
            const [laptop, runner] = [path.join(clones.laptop, exported.laptop), path.join(clones.runner, exported.runner)];
            expect(contextDigest(laptop)).to.equal(contextDigest(runner));
            // The export under 022 hashes as the tidy checkout does: the same image as before the change.
            expect(contextDigest(laptop)).to.equal(contextDigest(path.join(clones.laptop, "app")));
            for (const dir of [laptop, runner]) {
                expect(fs.statSync(path.join(dir, "docker-entrypoint.sh")).mode & 0o777).to.equal(0o755);
                expect(fs.statSync(path.join(dir, "Dockerfile")).mode & 0o777).to.equal(0o644);
                expect(fs.statSync(dir).mode & 0o777).to.equal(0o755);
                expect(fs.statSync(path.join(dir, "Dockerfile")).mtime.toISOString()).to.equal("2026-01-01T00:00:00.000Z");
            }
        });

        it("the export is the commit's bytes whatever the machine's git converts: core.autocrlf=true and a global `* text eol=crlf` give the same files and hash", () => {
            const clone = clones.laptop;
            const plain = inDir(clone, () => exportContext("app", imageSource("app", "amd64", realGit)));
            const digest = contextDigest(path.join(clone, plain));
            const attributes = path.join(tmp, "crlf-attributes");
            fs.writeFileSync(attributes, "* text eol=crlf\n");
            // A Windows workstation's settings, as git reads them from the environment (GIT_CONFIG_COUNT).
            const crlf = { GIT_CONFIG_COUNT: "2", GIT_CONFIG_KEY_0: "core.autocrlf", GIT_CONFIG_VALUE_0: "true", GIT_CONFIG_KEY_1: "core.attributesFile", GIT_CONFIG_VALUE_1: attributes };
            // They do convert what git archive writes (the old export): CRLF in the entry point.
            const archived = execFileSync("git", ["archive", "--format=tar", "HEAD:app", "docker-entrypoint.sh"], { cwd: clone, env: { ...process.env, ...crlf } });
            expect(archived.includes(Buffer.from('#!/bin/sh\r\nexec "$@"\r\n'))).to.equal(true);
            // A fresh export, not one left by the run above.
            fs.rmSync(path.join(clone, ".build"), { recursive: true, force: true });
            const converted = withEnv(crlf, () => inDir(clone, () => exportContext("app", imageSource("app", "amd64", realGit))));
            expect(converted).to.equal(plain);
            expect(fs.readFileSync(path.join(clone, converted, "docker-entrypoint.sh"), "utf8")).to.equal('#!/bin/sh\nexec "$@"\n');
            expect(contextDigest(path.join(clone, converted))).to.equal(digest);
        });

        it("an export edited in place is exported again, and a SHA-256 repository's older exports (64-hex tree ids) are pruned", () => {
            const clone = clones.laptop;
            const first = inDir(clone, () => exportContext("app", imageSource("app", "amd64", realGit)));
            fs.writeFileSync(path.join(clone, first, "Dockerfile"), "FROM evil\n");
            fs.writeFileSync(path.join(clone, first, "extra"), "x\n");
            const older = path.join(clone, ".build", `app-${"ab".repeat(32)}`);
            fs.mkdirSync(older);
            const again = inDir(clone, () => exportContext("app", imageSource("app", "amd64", realGit)));
            expect(again).to.equal(first);
            expect(fs.readFileSync(path.join(clone, again, "Dockerfile"), "utf8")).to.equal("FROM scratch\n");
            expect(fs.readdirSync(path.join(clone, again)).sort()).to.deep.equal([".dockerignore", "Dockerfile", "docker-entrypoint.sh"]);
            expect(fs.existsSync(older)).to.equal(false);
        });

        it("the whole program in both checkouts declares the same image inputs and records the same context hash: no diff, no rebuild", async () => {
            const [laptop, runner] = [
                await inDirAsync(clones.laptop, () => withUmask(0o022, () => runStack("dev"))),
                await inDirAsync(clones.runner, () => withUmask(0o000, () => runStack("dev"))),
            ];
            for (const name of ["app-image", "gitlab-image"]) {
                const [a, b] = [named(laptop, "docker:index/image:Image", name), named(runner, "docker:index/image:Image", name)];
                expect(JSON.stringify(b.inputs), name).to.equal(JSON.stringify(a.inputs));
                expect(b.state.build.contextDigest, name).to.equal(a.state.build.contextDigest);
            }
            const task = (run: StackRun) => JSON.stringify(named(run, "aws:ecs/taskDefinition:TaskDefinition", "app").inputs);
            expect(task(runner)).to.equal(task(laptop));
        });
    });

    it("a dirty folder exports the working tree (untracked files too) under its dirty tag's hash, modes normalised, replacing the folder's older export; a symlink is refused", () => {
        const repo = path.join(tmp, "dirty");
        fs.mkdirSync(repo);
        git(repo, "init", "-q");
        write(repo, { "app/Dockerfile": ["FROM scratch\n", 0o644] });
        git(repo, "add", "-A");
        git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "app");
        const clean = inDir(repo, () => exportContext("app", imageSource("app", "amd64", realGit)));
        fs.mkdirSync(path.join(repo, ".build/gitlab-0123456789012345678901234567890123456789"));
        write(repo, { "app/new.sh": ["#!/bin/sh\n", 0o775], "app/Dockerfile": ["FROM scratch\nCOPY new.sh /\n", 0o664] });
        const dir = inDir(repo, () => {
            const source = imageSource("app", "amd64", realGit);
            expect(source.dirty).to.match(/^[0-9a-f]{8}$/);
            return exportContext("app", source);
        });
        expect(dir).to.match(/^\.build\/app-[0-9a-f]{8}-dirty-[0-9a-f]{8}$/);
        // One export per image in a checkout: the app's clean one goes, GitLab's stays.
        expect(fs.readdirSync(path.join(repo, ".build")).sort()).to.deep.equal([path.basename(dir), "gitlab-0123456789012345678901234567890123456789"]);
        expect(clean).to.not.equal(dir);
        expect(fs.readdirSync(path.join(repo, dir)).sort()).to.deep.equal(["Dockerfile", "new.sh"]);
        expect(fs.statSync(path.join(repo, dir, "new.sh")).mode & 0o777).to.equal(0o755);
        expect(fs.statSync(path.join(repo, dir, "Dockerfile")).mode & 0o777).to.equal(0o644);

        fs.symlinkSync("Dockerfile", path.join(repo, "app/link"));
        expect(() => inDir(repo, () => exportContext("app", imageSource("app", "amd64", realGit)))).to.throw(/symlink in an image's build context/);
    });
});
