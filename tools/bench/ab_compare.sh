#!/usr/bin/env bash
# Same-time comparison of two builds of edgerun_pool_bench: runs them one
# after the other, ROUNDS times, so that the shared machine's drift falls on
# both alike (the "before / after" tables of tools/bench/README.md).
#
#   tools/bench/ab_compare.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [FILTER]
#
# FILTER is a --benchmark_filter regex (default: every variant). ROUNDS
# (default 2), REPS (default 5) and WORKERS (default 2) come from the
# environment. Prints each run's medians in items per second.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BEFORE_BUILD_DIR AFTER_BUILD_DIR [FILTER]" >&2; exit 2; }
filter=${3:-.}
for round in $(seq 1 "${ROUNDS:-2}"); do
  for side in before after; do
    dir=$([ "$side" = before ] && echo "$1" || echo "$2")
    echo "== $side, round $round"
    "$dir/tools/bench/edgerun_pool_bench" --workers="${WORKERS:-2}" --benchmark_filter="$filter" \
      --benchmark_repetitions="${REPS:-5}" --benchmark_enable_random_interleaving=true \
      --benchmark_min_time=0.2 --benchmark_report_aggregates_only=true 2>/dev/null |
      awk '/_median/ { for (i = 1; i <= NF; ++i) if ($i ~ /^items_per_second=/) print $1, substr($i, 18) }'
  done
done
