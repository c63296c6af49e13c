#!/usr/bin/env bash
# Runs schemathesis against the OpenAPI document a small demo server serves (/openapi.json):
# every documented operation is called with generated inputs; the run fails on a 5xx answer or
# an answer that does not match the document. Most operations need a signed request, which
# schemathesis does not make, so for those it checks the refusals (401/403 problem+json).
#
#   tests/schemathesis.sh            # from the project's root, after `cargo build -p creditlog`
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SCHEMATHESIS_VENV:-$HOME/.cache/creditlog/schemathesis}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q schemathesis==4.32.5
fi

bin="${CARGO_TARGET_DIR:-target}/debug/creditlog"
cargo build --quiet -p creditlog
data=$(mktemp -d)
log="$data/demo.log"
"$bin" demo --data "$data/demo" --firms 300 --records 3000 --listen 127.0.0.1:0 >"$log" 2>&1 &
demo=$!
trap 'kill $demo 2>/dev/null || true; rm -rf "$data"' EXIT
url=""
for _ in $(seq 1 300); do
  url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$log")
  [ -n "$url" ] && break
  kill -0 $demo 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 1
done
[ -n "$url" ] || { echo "the demo did not start" >&2; cat "$log" >&2; exit 1; }
"$venv/bin/schemathesis" run "$url/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --phases examples,coverage,fuzzing -n 30 --seed 1 --no-color
