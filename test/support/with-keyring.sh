#!/usr/bin/env bash
# Moved to scripts/with-keyring.sh; kept while older commands still name this path.
exec bash "$(dirname "$0")/../../scripts/with-keyring.sh" "$@"
