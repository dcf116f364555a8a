import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../sim/harness";

/** The README's layout table against the tree: every row names something that exists, every source file has a row. */

const LAYERED = /^(index\.ts|aws|ci|components|config|facts|hooks|policy|sim|tools|scripts|\.ci)(\/|$)/;

function layoutRows(): string[] {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const table = /<!-- layout -->\n([\s\S]*?)<!-- \/layout -->/.exec(readme)?.[1];
    if (!table) {
        throw new Error("README.md has no <!-- layout --> table");
    }
    // The first column's backticked paths, e.g. `components/gitlab/` or `tools/pushImage.ts`.
    return table
        .split("\n")
        .filter((l) => l.startsWith("| `"))
        .flatMap((l) => [...l.split("|")[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
}

describe("README layout table", () => {
    it("names only paths that exist", () => {
        const missing = layoutRows().filter((p) => !fs.existsSync(path.join(ROOT, p)));
        expect(missing).to.deep.equal([]);
    });

    it("covers every source file of the program's layers", () => {
        const rows = layoutRows();
        const tracked = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
            .split("\n")
            .filter((f) => LAYERED.test(f) && /\.(ts|sh|json|yaml)$|Dockerfile$|\/run$/.test(f) && fs.existsSync(path.join(ROOT, f)));
        const covered = (f: string) => rows.some((r) => f === r || (r.endsWith("/") && f.startsWith(r)));
        expect(tracked.filter((f) => !covered(f))).to.deep.equal([]);
        expect(tracked.length).to.be.greaterThan(50);
    });
});

describe("the hooks' deployed entry points", () => {
    // A hook's path is part of its command's inputs in every stack's state:
    // moving it re-runs every image push and both GitLab migrations on the next `up`.
    const STABLE = ["node_modules/.bin/ts-node --transpile-only tools/pushImage.ts", "node_modules/.bin/ts-node --transpile-only tools/runTask.ts"];

    it("every command `pulumi up` runs in prod names a stable entry point, and that file runs its hook", async () => {
        const { stackRun, ofType } = await import("../sim/harness");
        const commands = ofType(await stackRun("prod"), "command:local:Command").map((c) => String(c.inputs.create));
        expect(new Set(commands)).to.deep.equal(new Set(STABLE));
        for (const entry of STABLE) {
            const file = entry.split(" ").pop() as string;
            const hook = path.basename(file, ".ts");
            expect(fs.readFileSync(path.join(ROOT, file), "utf8")).to.match(new RegExp(`import \\{ run \\} from "\\.\\./hooks/${hook}";\\s*[\\s\\S]*\\nrun\\(\\);`));
        }
    });
});
