#!/usr/bin/env bash
# Cache misses of the loop thread per job, from callgrind's cache simulation
# (simulated, so repeatable): edgerun_post_from_loop, workers = 2,
# B = 10000, with the last level set to 1 MiB (this machine's L2).
#
#   tools/bench/loop_cache_misses.sh [build-dir]   (default build/bench)
#
# Needs valgrind. Prints L1 and last-level data misses per job.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/bench}
bench="$build/tools/bench/edgerun_pool_bench"
[ -x "$bench" ] || { echo "loop_cache_misses: build $bench first (see tools/bench/README.md)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "loop_cache_misses: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --cache-sim=yes --LL=1048576,16,64 --separate-threads=yes \
  --callgrind-out-file="$out/cg" "$bench" --workers=2 \
  --benchmark_filter="^edgerun_post_from_loop/workers:2/batch:10000/" --benchmark_min_time=0.05 >/dev/null 2>&1
python3 "$(dirname "$0")/loop_instructions.py" --misses "$out" edgerun_post_from_loop "Runtime::Impl::run()" \
  "edgerun::Runtime::submit(edgerun::JobRequest const&)"
