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
