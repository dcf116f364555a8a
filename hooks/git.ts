import { execFileSync } from "child_process";
import { Git } from "../facts/imageSource";

/**
 * git itself, for facts/imageSource.ts: the one program the Pulumi program
 * runs while it is evaluated (preview and up alike), to name each image
 * after its folder's last commit.
 */
export const realGit: Git = (args) => execFileSync("git", [...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
