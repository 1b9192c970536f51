#!/usr/bin/env bash
# Makes sure axe-core (the accessibility rules engine) is on disk for the console's browser
# test, which runs it inside headless Chromium. It comes from the npm registry, pinned, into
# .data/tools/ (never committed). When npm is missing, the test itself says why it did not
# run (and fails if it could have).
set -euo pipefail

AXE_VERSION=4.11.0
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.data/tools"
have_axe() {
  [ -f "$dir/node_modules/axe-core/axe.min.js" ] &&
    grep -q "\"version\": \"$AXE_VERSION\"" "$dir/node_modules/axe-core/package.json"
}

if have_axe; then
  exit 0
fi
if command -v npm >/dev/null; then
  echo "installing axe-core $AXE_VERSION into $dir for the console's accessibility check" >&2
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" "axe-core@$AXE_VERSION" >/dev/null
  have_axe && exit 0
  echo "npm did not provide axe-core $AXE_VERSION" >&2
  exit 1
fi
echo "npm is not installed; the console's accessibility check will be skipped and say so." \
  "Install Node.js and npm to run it." >&2
exit 0
