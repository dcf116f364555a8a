# The pipeline's test image (.gitlab-ci.yml: CI_TEST_IMAGE, the `test: *` jobs):
# the pipeline's Node.js image (NODE_IMAGE, the same reference: tools/pinImages.ts
# pins both) plus the Debian packages scripts/setup.sh installs, so no test job
# runs apt. scripts/setup.sh stays the one installer: it finds these and skips apt.
# Built by `ci test image` (.ci/tools-image.sh) when this file changes; raise
# CI_TEST_VERSION with any change.
FROM node:20.19.5-bookworm

# Debian as it was at one moment (snapshot.debian.org), not whatever the mirror
# serves on the day of the build: a rebuild installs the same package versions.
# To take Debian's updates, move the date (and CI_TEST_VERSION, which names it).
ARG DEBIAN_SNAPSHOT=20261201T000000Z

# The packages: rsync, Ruby (evaluates the rendered gitlab.rb), ssh-keygen,
# Graphviz (the plan's picture), PostgreSQL (the local server of `npm test`;
# the pipeline's app job uses the postgres service), python3-venv (the Django
# app's virtualenv).
RUN printf 'Types: deb\nURIs: http://snapshot.debian.org/archive/debian/%s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: http://snapshot.debian.org/archive/debian-security/%s\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$DEBIAN_SNAPSHOT" "$DEBIAN_SNAPSHOT" >/etc/apt/sources.list.d/debian.sources \
    && rm -f /etc/apt/sources.list \
    && apt-get -o Acquire::Check-Valid-Until=false update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        rsync ruby openssh-client graphviz postgresql python3-venv \
    && rm -rf /var/lib/apt/lists/*
