#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing (pinned),
# checks generated code, types, lint and format, builds, then runs vitest
# (unit, integration against real servers on free ports, browser tests, the
# deployment files: helm, promtool, a real Prometheus, tini).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_chromium
ensure_nats_server
ensure_clickhouse
ensure_k6
ensure_helm
ensure_prometheus
ensure_tini
ensure_haproxy

# npm install, generated-code check and build: the same script the Dockerfile runs.
bash scripts/install.sh
echo "== types";           npx --no-install tsc -p tsconfig.json --noEmit
echo "== lint";            npx --no-install eslint --max-warnings 0 .
echo "== format";          npx --no-install prettier --check --log-level warn .
echo "== tests"
mkdir -p test-results
status=0
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=$?
# One plain closing line that any CI log reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-results/vitest.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit "$status"
