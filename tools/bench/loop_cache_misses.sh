#!/usr/bin/env bash
# Cache misses of the loop thread per job, from callgrind's cache simulation
# (simulated, so repeatable): edgerun_post_from_loop, workers = 2,
# B = 10000, with the last level set to 1 MiB (this machine's L2).
#
#   tools/bench/loop_cache_misses.sh [build-dir]   (default build/bench)
#
# Needs valgrind. Prints L1 and last-level data misses per job.
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
bench_env loop_cache_misses "${1:-build/bench}" valgrind python3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --cache-sim=yes --LL=1048576,16,64 --separate-threads=yes \
  --callgrind-out-file="$out/cg" "$bench" --workers=2 \
  --benchmark_filter="^edgerun_post_from_loop/workers:2/batch:10000/" --benchmark_min_time=0.05 >/dev/null 2>&1
python3 "$bench_dir/loop_instructions.py" --misses "$out" edgerun_post_from_loop "Runtime::Impl::run()" \
  "edgerun::Runtime::submit(edgerun::JobRequest const&)"
