import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ImageSource } from "../facts/imageSource";

/**
 * The build context docker.Image hashes and sends, made from the folder's
 * commit alone: the folder's tree exported from git into `.build/`, every
 * file 0644 (0755 where git records the executable bit), every directory
 * 0755, every mtime the commit's time.
 *
 * Why: the docker provider hashes the context's names, contents and file
 * modes (pulumi-docker v4.11.2 provider.go `hashContext`; docker-build's
 * `hashBuildContext` does the same). A checkout made under another umask (a
 * GitLab runner's 0000 gives 0666/0777) hashes differently, the image looks
 * changed, and it would be rebuilt and pushed into its IMMUTABLE tag, which
 * ECR refuses. The export holds only what the commit holds, so the same
 * commit is the same context, hash and inputs on every machine
 * (tests/imageContext.test.ts checks two checkouts under umask 022 and 000).
 *
 * The commit's blobs are written as git stores them (`git ls-tree` and `git
 * cat-file --batch`), not through `git archive` or a checkout: those apply
 * the machine's `core.autocrlf`, `core.eol` and attribute files (`text`,
 * `eol`, `ident`, `filter`), so a Windows workstation's `autocrlf=true` would
 * export CRLF scripts under the commit's tag. Replace refs are ignored too
 * (`--no-replace-objects`): the bytes are the commit's own.
 *
 * Runs while the program is evaluated (preview and up alike), like the git
 * of hooks/git.ts. Exported again on every run (the folders are small): an
 * export someone edited in place is never what gets built.
 */

/**
 * Where exports live, relative to the project (ignored by git).
 * PLATFORM_BUILD_ROOT moves them: the tests that start plans in other
 * processes give those their own, so two runs never replace one export
 * under each other.
 */
export const BUILD_ROOT = process.env.PLATFORM_BUILD_ROOT || ".build";

const git = (args: readonly string[], input?: string): Buffer =>
    execFileSync("git", ["--no-replace-objects", ...args], { input, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], maxBuffer: 1 << 30 });

/**
 * The export of `folder` as `source` names it, relative to the working
 * directory: `.build/<folder>-<tree sha>` for a clean folder (git's hash of
 * exactly the names, modes and contents exported), or
 * `.build/<folder>-<commit>-dirty-<hash>` for uncommitted changes (the
 * working tree's tracked and untracked files, modes normalised the same way).
 */
export function exportContext(folder: string, source: ImageSource): string {
    const tree = source.dirty ? undefined : git(["rev-parse", `${source.sha}:${folder}`]).toString("utf8").trim();
    const name = tree ? `${folder}-${tree}` : `${folder}-${source.commit}-dirty-${source.dirty}`;
    const dest = path.join(BUILD_ROOT, name);
    pruneOthers(folder, name);
    // Written aside and renamed into place: a killed run leaves no half export behind that name.
    const tmp = `${dest}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    try {
        if (tree) {
            writeTree(tree, tmp);
        } else {
            copyWorkingTree(folder, tmp);
        }
        normalise(tmp, new Date(source.commitTime));
        fs.rmSync(dest, { recursive: true, force: true });
        try {
            fs.renameSync(tmp, dest);
        } catch (e) {
            // A parallel run put the same commit's tree there in between: its name is its content.
            if (!(tree && ["ENOTEMPTY", "EEXIST"].includes((e as NodeJS.ErrnoException).code ?? "") && fs.existsSync(dest))) {
                throw e;
            }
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    } catch (e) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw e;
    }
    return dest;
}

/**
 * The tree's files as git stores them: the paths and modes `git ls-tree -r`
 * lists, the bytes `git cat-file --batch` prints (no conversion of any kind).
 * A symlink (120000) or a submodule (160000) is refused: neither is a file
 * the context can hold the same way on every machine.
 */
function writeTree(tree: string, to: string): void {
    const entries = git(["ls-tree", "-r", "-z", tree])
        .toString("utf8")
        .split("\0")
        .filter(Boolean)
        .map((line) => {
            const [meta, file] = [line.slice(0, line.indexOf("\t")), line.slice(line.indexOf("\t") + 1)];
            const [mode, type, id] = meta.split(" ");
            if (type !== "blob" || mode === "120000") {
                throw new Error(`${file}: a ${mode === "120000" ? "symlink" : type} in an image's build context would differ between machines; commit the file itself`);
            }
            return { file, id, executable: mode === "100755" };
        });
    const batch = git(["cat-file", "--batch"], entries.map((e) => `${e.id}\n`).join(""));
    let at = 0;
    for (const { file, executable } of entries) {
        const header = batch.subarray(at, batch.indexOf(0x0a, at)).toString("utf8");
        const [, type, length] = header.split(" ");
        const size = Number(length);
        if (type !== "blob" || !Number.isInteger(size)) {
            throw new Error(`git cat-file answered ${JSON.stringify(header)} for ${file}`);
        }
        const start = at + header.length + 1;
        const target = path.join(to, file);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, batch.subarray(start, start + size), { mode: executable ? 0o755 : 0o644 });
        at = start + size + 1;
    }
}

/**
 * Earlier exports of the folder (other commits, and what a killed run left
 * half-written for them): a run builds only its own, so a checkout keeps one
 * export per image. The same name's temporaries may be a parallel run's.
 */
function pruneOthers(folder: string, keep: string): void {
    // A tree id is 40 hex digits (SHA-1) or 64 (a SHA-256 repository).
    const ours = new RegExp(`^(${folder}-(?:[0-9a-f]{40}(?:[0-9a-f]{24})?|[0-9a-f]{8}-dirty-[0-9a-f]{8}))(?:\\.tmp-\\d+)?$`);
    for (const entry of fs.existsSync(BUILD_ROOT) ? fs.readdirSync(BUILD_ROOT) : []) {
        const name = ours.exec(entry)?.[1];
        if (name !== undefined && name !== keep) {
            fs.rmSync(path.join(BUILD_ROOT, entry), { recursive: true, force: true });
        }
    }
}

/** A dirty folder: the files git would commit (tracked and untracked, not ignored) that exist. */
function copyWorkingTree(folder: string, to: string): void {
    const files = git(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", folder]).toString("utf8").split("\0").filter(Boolean);
    for (const file of new Set(files)) {
        const stat = fs.lstatSync(file, { throwIfNoEntry: false });
        if (!stat) {
            continue; // deleted, not yet committed
        }
        const target = path.join(to, path.relative(folder, file));
        fs.mkdirSync(path.dirname(target), { recursive: true });
        if (stat.isSymbolicLink()) {
            fs.symlinkSync(fs.readlinkSync(file), target);
        } else {
            fs.copyFileSync(file, target);
            fs.chmodSync(target, stat.mode & 0o777);
        }
    }
}

/**
 * Fixed modes and times: what the provider hashes (modes) and what the
 * image's layers record (mtimes) become functions of the commit. A symlink
 * is refused: the provider hashes the absolute path it resolves to, which
 * differs between two checkouts.
 */
function normalise(dir: string, time: Date): void {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isSymbolicLink()) {
            throw new Error(`${p}: a symlink in an image's build context would hash differently on every machine; commit the file itself`);
        }
        if (entry.isDirectory()) {
            normalise(p, time);
            fs.chmodSync(p, 0o755);
        } else {
            fs.chmodSync(p, fs.statSync(p).mode & 0o100 ? 0o755 : 0o644);
        }
        fs.utimesSync(p, time, time);
    }
    fs.chmodSync(dir, 0o755);
    fs.utimesSync(dir, time, time);
}
