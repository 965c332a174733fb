#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD/fuzz for SECONDS each, JOBS at a time (make fuzz).
# Each target fuzzes from its checked-in seed corpus (fuzz/corpus/<target>/) into a scratch
# corpus (BUILD/corpus/<target>/) with its dictionary (fuzz/<target>.dict). Its output goes to
# BUILD/<target>.log; a crash, leak or timeout leaves the input in BUILD/<target>-crash-*
# (fix it and add it to fuzz/corpus/<target>/) and fails the run.
#
#   fuzz/run_all.sh BUILD SECONDS JOBS
set -uo pipefail
build=$1 seconds=$2 jobs=$3
cd "$(dirname "$0")/.."

run_one() {
  local f=$1 name
  name=$(basename "$f")
  mkdir -p "$build/corpus/$name"
  local dict=()
  [ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
  if "$f" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="$build/$name-" "$build/corpus/$name" "fuzz/corpus/$name" >"$build/$name.log" 2>&1; then
    local execs
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$name.log" | grep -o '[0-9]*$')
    echo "== $name: ok, ${execs:-?} executions in ${seconds}s"
  else
    echo "== $name: FAILED (see $build/$name.log)"
    tail -40 "$build/$name.log"
    return 1
  fi
}

pids=() names=() failed=0
for f in "$build"/fuzz/*_fuzz; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || failed=1; done
  run_one "$f" &
  pids+=($!) names+=("$(basename "$f")")
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
exit $failed
