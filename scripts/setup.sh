#!/usr/bin/env bash
# One-time (idempotent) machine set-up: Debian packages, Node check, npm dependencies.
# Safe to run again: it installs only what is missing and reinstalls npm dependencies only
# when package-lock.json changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# libxml2-utils (xmllint) checks the ADMX/ADML and profile templates.
# chromium (+ a font) drives the lock and enrol pages in the browser tests, the screenshots and the auth benchmarks.
APT_PACKAGES=(build-essential python3 pkg-config libsecret-1-dev gnome-keyring dbus dbus-daemon dbus-bin
  rsyslog rsyslog-gnutls openssl ca-certificates util-linux mount chromium fonts-dejavu-core
  postgresql libxml2-utils)
if command -v dpkg-query >/dev/null; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # rsyslog's package scripts try to start the system service; we never use it.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "setup: not a Debian/Ubuntu machine; install the equivalents of: ${APT_PACKAGES[*]}" >&2
fi

# PostgreSQL refuses to run as root: the collector's PostgreSQL tests start their throwaway
# server as this unprivileged system user.
if [ "$(id -u)" -eq 0 ] && ! id -u cwa-pg >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin cwa-pg
  echo "setup: created the system user cwa-pg (for throwaway PostgreSQL servers in tests)"
fi

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  echo "setup: Node.js >= 20.19 is required (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Native modules (keytar, better-sqlite3-multiple-ciphers) build against the local Node
# headers when they are installed, so no header download is needed.
if [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
stamp=node_modules/.cwa-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # The Electron binary is fetched separately below, so an air-gapped install still succeeds.
  ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

if [ -z "${CI:-}" ] && [ -z "${ELECTRON_SKIP_BINARY_DOWNLOAD:-}" ] && [ -z "${ELECTRON_OVERRIDE_DIST_PATH:-}" ] \
   && ! node -e 'require("electron")' >/dev/null 2>&1; then
  if node node_modules/electron/install.js >/dev/null 2>&1; then
    echo "setup: Electron binary installed"
  else
    echo "setup: the Electron binary could not be downloaded here; 'npm start' runs the agent headless." \
         "See README (air-gapped machines) to provide one." >&2
  fi
fi
echo "setup: ready"
