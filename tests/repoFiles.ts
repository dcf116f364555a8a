import { execFileSync } from "child_process";
import { ROOT } from "../sim/harness";

/** The repository's files as a commit would take them: tracked, or new and not ignored. */
export function repoFiles(): string[] {
    return execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
}
