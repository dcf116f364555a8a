import { run } from "../hooks/promoteImage";
import { parseCli, TS_NODE } from "./cli";

// The stable entry point of hooks/promoteImage.ts: its path is part of each
// promotion command's inputs in the state (components/ecrImage.ts), so moving
// it would run every promotion again (harmless: it is idempotent). Keep it here.
parseCli({
    name: "promoteImage",
    usage: [
        `usage: ${TS_NODE} tools/promoteImage.ts   (Pulumi runs it during \`pulumi up\`)`,
        "  REPOSITORY, DIGEST, TAG  tags DIGEST in the source repository REPOSITORY as TAG",
        "  AWS_REGION               the repository's region",
    ].join("\n"),
});
run();
