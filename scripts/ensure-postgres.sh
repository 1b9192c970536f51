#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, postgres) exist, installing Debian's
# package when they do not and we may. Tests start their own throwaway server from them;
# nothing is left running.
set -euo pipefail

have_server() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

if have_server; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "PostgreSQL server binaries not found; installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  # The package may start a cluster of its own; the tests do not need it.
  command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
  done
  have_server && exit 0
fi
echo "PostgreSQL server binaries (initdb, postgres) are required: install your distribution's PostgreSQL server package" >&2
exit 1
