import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * The build-context hash docker.Image records as `build.contextDigest`,
 * ported from pulumi-docker v4.11.2 (provider/provider.go `hashContext`,
 * `hashPath`, `getIgnorePatterns`; the same code as in v4.6.2) so the mocks can record what the provider
 * would, and the tests can show what makes it differ. Checked against the
 * Go code itself: tests/imageContext.test.ts holds the hash the Go function
 * printed for its fixture.
 *
 * Per file (directories are skipped, the walk is in name order, `.dockerignore`
 * patterns exclude): the slash path relative to the context, Go's
 * FileMode.String() (`-rw-r--r--`: so the umask of a checkout counts), the
 * SHA-256 of the content, a NUL; the Dockerfile first, as `Dockerfile` with
 * mode 0. The hash is SHA-256 of all of it.
 */
export function contextDigest(context: string, dockerfile = path.join(context, "Dockerfile")): string {
    const ignore = ignorePatterns(context);
    const parts: Buffer[] = [entry("Dockerfile", "----------", fs.readFileSync(dockerfile))];
    const walk = (rel: string): void => {
        for (const name of fs.readdirSync(path.join(context, rel)).sort()) {
            const file = rel ? `${rel}/${name}` : name;
            if (ignore(file)) {
                continue;
            }
            const stat = fs.lstatSync(path.join(context, file));
            if (stat.isSymbolicLink()) {
                throw new Error(`${file}: symlinks are not modelled (the provider hashes their resolved absolute path)`);
            }
            if (stat.isDirectory()) {
                walk(file);
            } else {
                parts.push(entry(file, goFileMode(stat.mode), fs.readFileSync(path.join(context, file))));
            }
        }
    };
    walk("");
    return createHash("sha256").update(Buffer.concat(parts)).digest("hex");
}

const sha256 = (b: Buffer): Buffer => createHash("sha256").update(b).digest();

function entry(name: string, mode: string, content: Buffer): Buffer {
    return Buffer.concat([Buffer.from(name + mode), sha256(content), Buffer.from([0])]);
}

/** Go's FileMode.String() for a regular file: `-` and the nine permission bits. */
export function goFileMode(mode: number): string {
    const bits = "rwxrwxrwx";
    return `-${[...bits].map((c, i) => (mode & (0o400 >> i) ? c : "-")).join("")}`;
}

/**
 * `.dockerignore` as moby's patternmatcher reads it: last match wins, `!`
 * re-includes, a pattern that matches a parent directory matches the file,
 * `*` and `?` within one path element, `**` across elements.
 */
function ignorePatterns(context: string): (file: string) => boolean {
    const file = path.join(context, ".dockerignore");
    if (!fs.existsSync(file)) {
        return () => false;
    }
    const rules = fs
        .readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => {
            const exclusion = l.startsWith("!");
            const pattern = path.posix.normalize((exclusion ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, "");
            return { exclusion, re: globToRegExp(pattern) };
        });
    return (f) => {
        const parents = f.split("/").map((_, i, all) => all.slice(0, i + 1).join("/"));
        let matched = false;
        for (const rule of rules) {
            if (parents.some((p) => rule.re.test(p))) {
                matched = !rule.exclusion;
            }
        }
        return matched;
    };
}

function globToRegExp(pattern: string): RegExp {
    let re = "";
    for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === "*" && pattern[i + 1] === "*") {
            // `**/` is any number of leading elements, a trailing `**` anything.
            re += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
            i += pattern[i + 2] === "/" ? 2 : 1;
        } else if (c === "*") {
            re += "[^/]*";
        } else if (c === "?") {
            re += "[^/]";
        } else if (c === "[") {
            const close = pattern.indexOf("]", i);
            re += pattern.slice(i, close + 1).replace(/^\[!/, "[^");
            i = close;
        } else {
            re += c.replace(/[.+^${}()|\\]/g, "\\$&");
        }
    }
    return new RegExp(`^${re}$`);
}
