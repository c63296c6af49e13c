#!/usr/bin/env bash
# Instructions per record ingested (docs/PERFORMANCE.md): the server under callgrind, loaded by a
# separate `creditlog submit` process through load.sh; the difference between two loads of
# 2,000 and 6,000 records (same seed, 500 firms) cancels start-up and set-up.
#
# usage: docs/cgingest.sh WORKDIR     (CREDITLOG: the binary, default target/release/creditlog)
set -euo pipefail
export CREDITLOG=$(realpath "${CREDITLOG:-target/release/creditlog}")
mkdir -p "$1" && cd "$1"
rm -rf simA simB && "$CREDITLOG" simulate --out simA --firms 500 --records 2000 >/dev/null
"$CREDITLOG" simulate --out simB --firms 500 --records 6000 >/dev/null
declare -A total
for run in simA simB; do
  rm -rf "cgdata-$run" "serve-$run.log"
  port=$([ $run = simA ] && echo 8121 || echo 8122)
  valgrind --tool=callgrind --callgrind-out-file="cg-$run.out" "$CREDITLOG" serve --data "cgdata-$run" \
    --listen 127.0.0.1:$port --checkpoint-interval-ms 20 > "serve-$run.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do grep -q "listening on" "serve-$run.log" 2>/dev/null && break; sleep 1; done
  bash "$run/load.sh" http://127.0.0.1:$port "cgdata-$run/operator.key" > "load-$run.log" 2>&1
  kill -TERM $pid; wait $pid || true
  # sled spins on an atomic in `sled::lazy::Lazy::deref` while another thread initialises; under
  # valgrind, which runs one thread at a time, that spin takes 0.6 to 4.8 x 10^9 instructions a
  # run, by scheduling alone. It is left out; what remains repeats to 0.1 %.
  total[$run]=$(callgrind_annotate --inclusive=no --threshold=100 --auto=no "cg-$run.out" | python3 -c '
import re, sys
total = spin = 0
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+)\s", line)
    if m:
        n = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in line: total = n
        elif "sled::lazy::Lazy" in line: spin += n
print(total - spin)')
  echo "$run: $(grep appended "load-$run.log" | awk '{s+=$1} END {print s}') records appended, ${total[$run]} instructions (sled's spin left out)"
done
echo "per record ingested: $(( (${total[simB]} - ${total[simA]}) / 4000 )) instructions"
