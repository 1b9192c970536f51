#!/usr/bin/env bash
# Makes sure a headless-capable Chromium exists for unsubscribe-handler's browser test,
# installing Debian's chromium package when it is missing and we may. When it cannot be
# installed, the test itself says why it did not run (and fails if it could have).
set -euo pipefail

have_browser() {
  [ -n "${CONSENTRY_CHROMIUM:-}" ] && [ -x "${CONSENTRY_CHROMIUM}" ] && return 0
  command -v chromium >/dev/null || command -v chromium-browser >/dev/null ||
    command -v google-chrome >/dev/null || command -v google-chrome-stable >/dev/null
}

if have_browser; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Chromium not found; installing Debian's chromium package for the browser test" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  have_browser && exit 0
  echo "installing chromium did not provide a chromium binary" >&2
  exit 1
fi
echo "Chromium is not installed and this user cannot install it (needs root and apt-get);" \
  "the browser test will be skipped and say so. Install your distribution's chromium package to run it." >&2
exit 0
