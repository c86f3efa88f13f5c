#!/usr/bin/env bash
# Installs the Debian packages the tests start as real components, when they are missing:
#   chromium   the browser tests (tests/browser, R-CONS-4): Playwright drives this system browser and never
#              downloads one of its own (no `playwright install`);
#   pgbouncer  the pooler tests (claims and reads through pgbouncer in transaction mode, docs/scaling.md).
# Without root the script only says what to do: those tests then skip locally, and fail in CI.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: ${missing[*]} missing and this is not root;" \
       "run 'sudo apt-get install ${missing[*]}' (Debian) for the tests that use them" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-tools: ${missing[*]} missing and there is no apt-get here;" \
       "install Debian's packages of that name some other way for the tests that use them" >&2
  exit 0
fi
echo "install-test-tools: installing Debian's ${missing[*]} for the tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq "${missing[@]}"
