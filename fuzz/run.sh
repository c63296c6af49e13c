#!/usr/bin/env bash
# Builds every fuzz target once, then runs each for SECONDS (default 20), one at a time, from
# its seed corpus in fuzz/corpus/<target>/. Fails at the first target that crashes; the
# crashing input is left in fuzz/artifacts/<target>/ (minimise it with `cargo fuzz tmin`).
#
#   fuzz/run.sh          # 20 s per target
#   fuzz/run.sh 600      # 10 minutes per target
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
# No AddressSanitizer: our crates forbid unsafe code, so what we look for is a panic, which
# libFuzzer reports either way. ASan instruments every dependency and slows every execution
# (a cold build measured 10m52s with it, 9m13s without, on 2 shared cores).
sanitizer=none
logs=fuzz/target/logs
mkdir -p "$logs"
cargo +nightly fuzz build --sanitizer "$sanitizer"
for target in $(cargo +nightly fuzz list); do
  # -timeout: an input that takes 10 s is reported as a hang.
  if cargo +nightly fuzz run --sanitizer "$sanitizer" "$target" -- -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    >"$logs/$target.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log")
    echo "fuzz: $target: ${seconds}s, ${runs:-?} executions, no crash"
  else
    tail -n 40 "$logs/$target.log" >&2
    echo "fuzz: $target crashed; log in $logs/$target.log, input in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz: all targets ran ${seconds}s without a crash"
