#!/usr/bin/env bash
# The policy pack flags for `pulumi preview` and `pulumi up` of one stack: the
# AWS Security Hub pack in policy/, mandatory for a protected stack (its
# Pulumi.<stack>.yaml sets `stateful.protect: true`: a violation fails the
# job), advisory for the others (reported, not fatal). What a stack is, not
# its name: a copy of dev named staging is advised, a copy of prod enforced.
# Anything this cannot read for certain counts as protected: the file missing
# or not YAML, an ESC environment or project-level config that could set the
# value. It runs inside $(...), where a failure would otherwise go unseen; the
# reason for either answer goes to stderr, into the job's log.
set -euo pipefail
stack=${1:?usage: policy-args.sh <stack>}
mode=$(node -e '
const fs = require("fs");
const YAML = require("yaml");
const stack = process.argv[1];
let doc, project;
try {
    doc = YAML.parse(fs.readFileSync(`Pulumi.${stack}.yaml`, "utf8"), { merge: true }) ?? {};
    project = fs.existsSync("Pulumi.yaml") ? YAML.parse(fs.readFileSync("Pulumi.yaml", "utf8")) ?? {} : {};
} catch (e) {
    console.error(`policy-args: cannot read Pulumi.${stack}.yaml (${String(e.message).split("\n")[0]}): mandatory`);
    doc = { environment: null };
    project = {};
}
if (doc.environment === null) {
    process.stdout.write("mandatory");
} else if (doc.environment !== undefined || project.config?.["platform:stateful"] !== undefined) {
    console.error(`policy-args: Pulumi.${stack}.yaml may take stateful.protect from an ESC environment or Pulumi.yaml: mandatory`);
    process.stdout.write("mandatory");
} else if (doc.config?.["platform:stateful"]?.protect === true) {
    process.stdout.write("mandatory");
} else {
    console.error(`policy-args: ${stack} is unprotected (Pulumi.${stack}.yaml: stateful.protect is not true): the policy pack is advisory`);
    process.stdout.write("advisory");
}
' "$stack") || { echo "policy-args: node could not run: mandatory" >&2; mode=mandatory; }
if [ "$mode" = advisory ]; then
    echo "--policy-pack policy --policy-pack-config policy/config.advisory.json"
else
    echo "--policy-pack policy"
fi
