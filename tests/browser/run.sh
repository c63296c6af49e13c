#!/usr/bin/env bash
# The portal in a real browser: Debian's chromium, driven by playwright-core from npm (which
# downloads no browser), against a `creditlog demo` the tests start. Screenshots of each page
# under test: tests/browser/artifacts/. Installs what it needs on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then
  # chromium, and a CJK font so that the screenshots show the Chinese pages as officials see them.
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
fi
npm ci --no-audit --no-fund --silent
(cd ../.. && cargo build --quiet -p creditlog --bin creditlog)
rm -rf artifacts
CREDITLOG_BIN="$(cd ../.. && pwd)/target/debug/creditlog" node --test --test-concurrency=1 portal.test.mjs
