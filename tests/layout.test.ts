import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../sim/harness";
import { repoFiles } from "./repoFiles";

/** docs/layout.md's table against the tree: every row names something that exists, every source file has a row. */

const LAYERED = /^(index\.ts|aws|ci|components|config|facts|hooks|policy|sim|tools|scripts|\.ci)(\/|$)/;

interface Row {
    /** The first column's backticked paths, e.g. `components/gitlab/` or `tools/runTask.ts`. */
    readonly paths: string[];
    /** The second column: what the row says is there. */
    readonly what: string;
}

function layoutRows(): Row[] {
    const doc = fs.readFileSync(path.join(ROOT, "docs/layout.md"), "utf8");
    const table = /<!-- layout -->\n([\s\S]*?)<!-- \/layout -->/.exec(doc)?.[1];
    if (!table) {
        throw new Error("docs/layout.md has no <!-- layout --> table");
    }
    return table
        .split("\n")
        .filter((l) => l.startsWith("| `"))
        .map((l) => ({ paths: [...l.split("|")[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]), what: l.split("|").slice(2).join("|") }));
}

/** The program's source files (tracked or new), in the layers the table must describe. */
function layeredFiles(): string[] {
    return repoFiles().filter((f) => LAYERED.test(f) && /\.(ts|sh|json|yaml)$|Dockerfile$|\/run$/.test(f) && fs.existsSync(path.join(ROOT, f)));
}

/**
 * Where the table describes a file: the row naming the file itself, else the
 * row of its nearest folder, which must then name it (or its subfolder) in
 * backticks. A folder's own index.ts is its entry and needs no mention.
 */
function describedBy(rows: Row[], file: string): string | undefined {
    if (rows.some((r) => r.paths.includes(file))) {
        return file;
    }
    const folders = rows.flatMap((r) => r.paths.filter((p) => p.endsWith("/") && file.startsWith(p)).map((p) => ({ p, r })));
    const nearest = folders.sort((x, y) => y.p.length - x.p.length)[0];
    if (!nearest) {
        return undefined;
    }
    const rest = file.slice(nearest.p.length);
    const entry = rest.includes("/") ? `${rest.split("/")[0]}/` : rest;
    const named = entry === "index.ts" || nearest.r.what.includes(`\`${entry}\``) || nearest.r.what.includes(`\`${nearest.p}${entry}\``);
    return named ? nearest.p : undefined;
}

describe("the code layout table (docs/layout.md)", () => {
    it("names only paths that exist", () => {
        const missing = layoutRows()
            .flatMap((r) => r.paths)
            .filter((p) => !fs.existsSync(path.join(ROOT, p)));
        expect(missing).to.deep.equal([]);
    });

    it("describes every source file of the program's layers by name", () => {
        const rows = layoutRows();
        const files = layeredFiles();
        expect(files.filter((f) => describedBy(rows, f) === undefined)).to.deep.equal([]);
        expect(files.length).to.be.greaterThan(50);
    });
});

describe("the hooks' deployed entry points", () => {
    // A hook's path is part of its command's inputs in every stack's state:
    // moving it re-runs both GitLab migrations (and prod's promotions) on the next
    // `up`. (Builds are docker.Image resources, no command: components/ecrImage.ts.)
    const STABLE = ["node_modules/.bin/ts-node --transpile-only tools/runTask.ts", "node_modules/.bin/ts-node --transpile-only tools/promoteImage.ts"];

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
