import { run } from "../hooks/runTask";
import { parseCli, TS_NODE } from "./cli";

// The stable entry point of hooks/runTask.ts. Both GitLab migration steps
// name this path (components/gitlab/migrations.ts RUN_TASK_COMMAND), and the
// command is one of their inputs in the state: moving the path would run both
// migrations again on the next `pulumi up`. Keep it here.
parseCli({
    name: "runTask",
    usage: `usage: ${TS_NODE} tools/runTask.ts   (Pulumi runs it during \`pulumi up\`; its environment: hooks/runTask.ts)\n  runs one ECS task to completion, after the services it must follow`,
});
run();
