import { run } from "../hooks/promoteImage";

// The stable entry point of hooks/promoteImage.ts: its path is part of each
// promotion command's inputs in the state (components/ecrImage.ts), so moving
// it would run every promotion again (harmless: it is idempotent). Keep it here.
run();
