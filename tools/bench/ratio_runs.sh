#!/usr/bin/env bash
# The speed target's comparison over several independent runs: each run is
# the README's benchmark command (10 interleaved repetitions, 2 workers),
# restricted to the posted-on-the-loop variants and uv_queue_work, and gives
# one ratio of medians per batch size. Prints every run's ratio, sorted, and
# the median ratio: the "0.65–0.91, median 0.78" of tools/bench/README.md.
# One run's ratio moves by ±15% on a shared VM; the spread over runs is the
# figure to trust.
#
#   tools/bench/ratio_runs.sh [build-dir] [runs]   (default build/bench, 8)
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
bench_env ratio_runs "${1:-build/bench}" python3
runs=${2:-8}
for run in $(seq 1 "$runs"); do
  "$bench" --workers=2 --benchmark_filter='^(edgerun_post_from_loop|uv_queue_work)' \
    --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true --benchmark_min_time=0.2 \
    --benchmark_report_aggregates_only=true --benchmark_format=json 2>/dev/null |
    python3 -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    if b.get("aggregate_name") == "median":
        print(sys.argv[1], b["run_name"].split("/process_time")[0], b["items_per_second"])
' "$run"
done | python3 -c '
import collections, statistics, sys
medians = collections.defaultdict(dict)  # run -> variant -> items/s
for line in sys.stdin:
    run, name, value = line.split()
    medians[run][name] = float(value)
for batch in ("1000", "10000"):
    uv = f"uv_queue_work/workers:2/batch:{batch}"
    for variant in ("edgerun_post_from_loop", "edgerun_post_from_loop_terminal_only"):
        name = f"{variant}/workers:2/batch:{batch}"
        ratios = sorted(m[name] / m[uv] for m in medians.values())
        print(f"B={batch} {variant} / uv_queue_work: " + " ".join(f"{r:.2f}" for r in ratios)
              + f"  median {statistics.median(ratios):.2f}")
    print(f"B={batch} uv_queue_work medians, M/s: " + " ".join(f"{m[uv] / 1e6:.2f}" for m in medians.values()))
'
