#!/usr/bin/env bash
# Runs edgerun_pool_bench RUNS times (default 40), posted on the loop with 2
# workers and 1000-job batches, and counts the runs that had not finished
# after 10 s (a normal run takes about one). A lost wake-up leaves a batch
# waiting for the benchmark's 60 s timeout: the "hung in N of 40 runs" of
# tools/bench/README.md.
#
#   tools/bench/hang_check.sh [build-dir] [runs]   (default build/bench, 40)
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
bench_env hang_check "${1:-build/bench}" timeout
runs=${2:-40}
hung=0
for _ in $(seq 1 "$runs"); do
  rc=0
  timeout 10 "$bench" --workers=2 --benchmark_filter='^edgerun_post_from_loop/workers:2/batch:1000/' \
    --benchmark_min_time=0.5 >/dev/null 2>&1 || rc=$?
  if [ "$rc" -eq 124 ]; then
    hung=$((hung + 1))
  elif [ "$rc" -ne 0 ]; then
    echo "hang_check: a run failed with exit status $rc" >&2
    exit 1
  fi
done
echo "hang_check: $hung of $runs runs had not finished after 10 s"
