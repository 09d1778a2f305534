# Installs what the tests need when it is missing, at pinned versions.
# Sourced by scripts/test.sh; each ensure_* is idempotent and quiet when the
# tool is already there. Go tools go to .tools/bin (ignored by git).

TOOLS_BIN="$PWD/.tools/bin"
export PATH="$TOOLS_BIN:$PATH"

NATS_SERVER_VERSION=v2.15.2
K6_VERSION=v1.8.1
HELM_VERSION=v3.22.0
# Debian bookworm's packages (the image's base is bookworm too): pinned to what
# the test command was written against, checked rather than forced so a point
# release of the distribution does not break CI; a different version is logged.
PROMETHEUS_DEB_VERSION=2.42.0
TINI_DEB_VERSION=0.19.0
HAPROXY_DEB_VERSION=2.6.12

log() { printf '[tools] %s\n' "$*" >&2; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    log "need root to apt-get install $*"; return 1
  fi
  if [ ! -f /tmp/.barrage-apt-updated ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && touch /tmp/.barrage-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_node_modules() {
  # Reinstall when the lockfile changed since the last install. `npm install`,
  # not `npm ci`: chdb lists optional per-platform packages of which only
  # linux-x64 is published, so no lockfile can list them all and `npm ci`
  # refuses every one. `npm install` installs the locked versions and skips
  # the unpublished optional ones (checked: it leaves the lockfile unchanged).
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm install (from package-lock.json)"
    npm install --no-fund --no-audit --loglevel=error
  fi
}

ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing Debian chromium"
    apt_install chromium
  fi
  # Danmaku are CJK and emoji as often as not: screenshots must show them.
  if ! dpkg -s fonts-noto-cjk fonts-noto-color-emoji >/dev/null 2>&1; then
    log "installing CJK and emoji fonts"
    apt_install fonts-noto-cjk fonts-noto-color-emoji
  fi
  export BARRAGE_CHROMIUM="${BARRAGE_CHROMIUM:-$(command -v chromium)}"
}

go_tool() { # name module@version
  local name=$1 module=$2 stamp="$TOOLS_BIN/.$1.version"
  if [ -x "$TOOLS_BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$module" ]; then return 0; fi
  log "go install $module"
  mkdir -p "$TOOLS_BIN"
  GOBIN="$TOOLS_BIN" GOFLAGS=-mod=mod go install "$module"
  echo "$module" > "$stamp"
}

ensure_nats_server() { go_tool nats-server "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"; }
ensure_k6() { go_tool k6 "go.k6.io/k6@$K6_VERSION"; }
# helm from the Go module proxy, like nats-server and k6 (no release tarball download).
ensure_helm() { go_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"; }

deb_tool() { # command package expected-version
  local cmd=$1 pkg=$2 want=$3 have
  if ! command -v "$cmd" >/dev/null 2>&1; then
    log "installing Debian $pkg"
    apt_install "$pkg"
  fi
  have=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
  case "$have" in "$want"*) ;; *) log "$pkg is ${have:-not a Debian package} (the tests were written against $want)" ;; esac
}

# prometheus and promtool: alert rule checks and unit tests, and a real scrape of a running cluster.
ensure_prometheus() { deb_tool promtool prometheus "$PROMETHEUS_DEB_VERSION+"; }
# tini: the image's PID 1; the SIGTERM drain test runs the same entrypoint.
ensure_tini() { deb_tool tini tini "$TINI_DEB_VERSION"; }
# haproxy: `haproxy -c` checks the compose cluster's load balancer configuration.
ensure_haproxy() { deb_tool haproxy haproxy "$HAPROXY_DEB_VERSION"; }

ensure_clickhouse() {
  if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/bin/clickhouse ]; then
    log "installing Debian clickhouse-server"
    apt_install clickhouse-server clickhouse-client
  fi
}
