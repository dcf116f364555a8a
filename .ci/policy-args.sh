#!/usr/bin/env bash
# The policy pack flags for `pulumi preview` and `pulumi up` of one stack: the
# AWS Security Hub pack in policy/, mandatory in prod (a violation fails the
# job), advisory elsewhere (reported, not fatal).
set -euo pipefail
stack=${1:?usage: policy-args.sh <stack>}
if [ "$stack" = prod ]; then
    echo "--policy-pack policy"
else
    echo "--policy-pack policy --policy-pack-config policy/config.dev.json"
fi
