#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (tests/browser, R-CONS-4) when it is missing.
# Playwright drives this system browser; it never downloads one of its own (no `playwright install`).
# Without root the script only says what to do: the browser tests then skip locally, and fail in CI.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser: $CHROMIUM is missing and this is not root;" \
       "run 'sudo apt-get install chromium' (Debian) for the browser tests" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: $CHROMIUM is missing and there is no apt-get here;" \
       "install Debian's chromium package some other way for the browser tests" >&2
  exit 0
fi
echo "install-browser: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq chromium
