import { run } from "../hooks/runTask";

// The stable entry point of hooks/runTask.ts. Both GitLab migration steps
// name this path (components/gitlab/migrations.ts RUN_TASK_COMMAND), and the
// command is one of their inputs in the state: moving the path would run both
// migrations again on the next `pulumi up`. Keep it here.
run();
