import { z } from "zod";
import { connectionDemand, DEPLOY_MAXIMUM_PERCENT, Fleet, gitlabMaxConnections } from "../../components/gitlab/facts";
import type { GitLabConfig } from "./gitlab";

/**
 * GitLab's serving tasks as fleets: the split tiers over their autoscaling
 * range, or the single task; undefined while a size or count did not parse.
 */
export function gitlabFleets(g: GitLabConfig): Fleet[] | undefined {
    const n = (x: unknown): x is number => typeof x === "number";
    if (g.topology === "split") {
        const { web, sidekiq } = g;
        if (![web?.cpu, web?.memory, web?.minCount, web?.maxCount, sidekiq?.cpu, sidekiq?.memory, sidekiq?.minCount, sidekiq?.maxCount].every(n)) {
            return undefined;
        }
        return [
            { role: "web", cpu: web.cpu, memory: web.memory, minCount: web.minCount, maxCount: web.maxCount },
            { role: "sidekiq", cpu: sidekiq.cpu, memory: sidekiq.memory, minCount: sidekiq.minCount, maxCount: sidekiq.maxCount },
        ];
    }
    return n(g.cpu) && n(g.memory) ? [{ role: "single", cpu: g.cpu, memory: g.memory, minCount: 1, maxCount: 1 }] : undefined;
}

/**
 * GitLab's connection budget, like the app's: every web and Sidekiq task at
 * the autoscaling ceiling, doubled while a deployment runs the new tasks
 * beside the old, plus the one-off tasks and the reserve, must fit the
 * max_connections its parameter group sets (components/gitlab/connections.ts
 * has the formula and its source).
 */
export function gitlabConnectionRules(c: { gitlab: GitLabConfig }, ctx: z.RefinementCtx): void {
    const g = c.gitlab;
    const limit = typeof g?.database?.instanceClass === "string" ? gitlabMaxConnections(g.database.instanceClass) : undefined;
    const fleets = g ? gitlabFleets(g) : undefined;
    if (limit === undefined || fleets === undefined) {
        return;
    }
    const d = connectionDemand(fleets, DEPLOY_MAXIMUM_PERCENT[g.topology]);
    if (d.need > limit) {
        const [path, what, remedy] =
            g.topology === "split"
                ? [["web", "maxCount"], `${g.web.maxCount} web and ${g.sidekiq.maxCount} Sidekiq tasks`, "lower gitlab.web.maxCount or gitlab.sidekiq.maxCount"]
                : [["memory"], "the single task", "a smaller task"];
        ctx.addIssue({
            code: "custom",
            path: ["gitlab", ...path],
            message: `${what} can hold ${d.deployAtMaximum} database connections during a deployment (${d.atMaximum} at the ceiling by GitLab's pool sizes, plus ${d.need - d.deployAtMaximum} for the registry's pools, the migrate and backup tasks and the reserve), over the ${limit} max_connections of gitlab.database.instanceClass ${g.database.instanceClass}: ${remedy}, or a larger class`,
        });
    }
}
