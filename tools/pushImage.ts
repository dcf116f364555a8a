import { run } from "../hooks/pushImage";

// The stable entry point of hooks/pushImage.ts. Every image's push command
// names this path (components/ecrImage.ts PUSH_COMMAND), and the command is
// one of its inputs in the state: moving the path would re-run every push on
// the next `pulumi up`. Keep it here.
run();
