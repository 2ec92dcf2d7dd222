#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with its own HOME and an unlocked
# gnome-keyring, so keytar talks to a real Secret Service and never to the user's own.
# The HOME is fresh and thrown away, unless CWA_KEYRING_HOME names a folder to keep it in
# (the headless development agent keeps its keys there between runs).
set -euo pipefail
if [ -n "${CWA_KEYRING_READY:-}" ]; then exec "$@"; fi
if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
  echo "with-keyring: dbus-run-session and gnome-keyring-daemon are required (apt-get install dbus gnome-keyring libsecret-1-dev)" >&2
  exit 2
fi
if [ -n "${CWA_KEYRING_HOME:-}" ]; then
  home="$CWA_KEYRING_HOME"
  mkdir -p "$home" && chmod 700 "$home"
else
  home=$(mktemp -d "${TMPDIR:-/tmp}/cwa-home.XXXXXX")
  trap 'rm -rf "$home"' EXIT
fi
export HOME="$home" XDG_DATA_HOME="$home/.local/share" XDG_RUNTIME_DIR="$home/run" CWA_KEYRING_READY=1
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# dbus-run-session ends the bus (and the keyring daemon) when the command exits.
dbus-run-session -- bash -c '
  eval "$(echo -n test-keyring-password | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)" >/dev/null
  export GNOME_KEYRING_CONTROL
  exec "$@"' with-keyring "$@"
