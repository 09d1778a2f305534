# Installs what the tests need when it is missing, at pinned versions.
# Sourced by scripts/test.sh; each ensure_* is idempotent and quiet when the
# tool is already there. Go tools go to .tools/bin (ignored by git).

TOOLS_BIN="$PWD/.tools/bin"
export PATH="$TOOLS_BIN:$PATH"

NATS_SERVER_VERSION=v2.15.2
K6_VERSION=v1.8.1

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

ensure_clickhouse() {
  if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/bin/clickhouse ]; then
    log "installing Debian clickhouse-server"
    apt_install clickhouse-server clickhouse-client
  fi
}
