#!/usr/bin/env bash
# Installs the locked npm dependencies and builds dist/, from a fresh clone.
# The one install-and-build path: scripts/test.sh (CI) runs it, and so does
# the Dockerfile's build stage, so a step that breaks the image breaks CI.
# Needs only node, npm and the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_node_modules
echo "== generated code"; node scripts/gen-proto.mjs --check
echo "== build";          node scripts/build.mjs
