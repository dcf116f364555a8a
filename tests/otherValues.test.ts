import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { ROOT } from "../sim/harness";

/**
 * The stack files' values are examples a user replaces (their domain and
 * GitLab, their project, whether dev shares prod's account and its OIDC
 * provider): the suite's stack checks must hold for any such values, not only
 * the committed ones. This rewrites both stack files and runs those specs on
 * the copies (sim/harness.ts PLATFORM_STACK_DIR; tests/stackValues.ts reads
 * the values the checks compare with from the files).
 */

/** The committed examples and what a user might put instead. */
export const REPLACEMENTS: readonly (readonly [RegExp, string])[] = [
    [/\bexample\.com\b/g, "acme-platform.net"],
    [/\bplatform\/infrastructure\b/g, "acme/ops-infra"],
    // dev in an account of its own: it creates its OIDC provider instead of sharing prod's.
    [/oidcProvider: existing/g, "oidcProvider: create"],
];

/** The specs whose checks read the stack files' values rather than the examples. */
const SPECS = ["tests/stacks.test.ts", "tests/appService.test.ts", "tests/gitlab.test.ts", "tests/gitlabEmail.test.ts", "tests/deployIdentity.test.ts"];

describe("the stack checks on other values than the committed examples", function () {
    this.timeout(600_000);

    it("rewrites every example value, and the specs pass on the rewritten stack files", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-"));
        try {
            for (const stack of ["dev", "prod"]) {
                const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
                const rewritten = REPLACEMENTS.reduce((t, [from, to]) => t.replace(from, to), text);
                // Not vacuous: each stack file carries the examples, and none is left.
                expect(rewritten, stack).to.not.equal(text);
                expect(rewritten, stack).to.not.match(/example\.com|platform\/infrastructure|oidcProvider: existing/);
                fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), rewritten);
            }
            const r = spawnSync(path.join(ROOT, "node_modules/.bin/mocha"), ["--no-config", "-r", "ts-node/register/transpile-only", "--timeout", "240000", "--reporter", "dot", ...SPECS], {
                cwd: ROOT,
                encoding: "utf8",
                env: { ...process.env, PLATFORM_STACK_DIR: dir, PLATFORM_BUILD_ROOT: path.join(dir, ".build") },
                maxBuffer: 64 * 1024 * 1024,
            });
            expect(r.status, `${r.stdout.slice(-6000)}\n${r.stderr.slice(-2000)}`).to.equal(0);
            expect(r.stdout).to.match(/\d+ passing/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
