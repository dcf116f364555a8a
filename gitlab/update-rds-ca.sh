#!/bin/bash
# Refreshes gitlab/rds-global-bundle.pem (and the app image's copy,
# app/certs/rds-global-bundle.pem) from AWS's global RDS bundle, keeping only
# certificates that have not expired. Run it, review the diff (subjects and
# dates are printed), commit: each image's tag follows its folder's commit.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
curl -fsSL https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem -o "$tmp"
: >rds-global-bundle.pem
awk '/BEGIN CERTIFICATE/{c++} {print > ("'"$tmp"'." c)}' "$tmp"
for part in "$tmp".*; do
    if openssl x509 -checkend 0 -noout -in "$part" >/dev/null 2>&1; then
        cat "$part" >>rds-global-bundle.pem
        openssl x509 -noout -subject -enddate -in "$part"
    fi
    rm -f "$part"
done
cp rds-global-bundle.pem ../app/certs/rds-global-bundle.pem
