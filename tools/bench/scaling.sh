#!/usr/bin/env bash
# Scaling tables of edgerund against the bare-libmosquitto ceiling, from one
# command: e2e/run.sh once per point, each with its own interleaved rounds of
# ceiling and edgerund, and one markdown table per sweep:
#   window    jobs/s and CPU/job at window 1, 8, 64, 256 (echo jobs, no progress)
#   payload   the same against the size of params: 16 B, 1 KiB, 16 KiB, window 64
#   workers   the same against edgerund's workers: 1, 2, 4, window 64, with
#             jobs that run on a worker (edgerund-pool: sleep {"ms":0})
#   memory    edgerund's idle RSS / private dirty (and peak RSS after N jobs)
#             at the gateway defaults against jobs.queue_capacity 64, 1024, 16384
# Method and limits: e2e/README.md, "Scaling".
#
# usage: tools/bench/scaling.sh [--build-dir DIR] [--edgerund PATH] [--repeat R]
#          [--tables window,payload,workers,memory] [--jobs N] [--jobs-window1 N]
#          [--jobs-large-payload N] [--windows "1 8 64 256"]
#          [--payloads "16 1024 16384"] [--workers-list "1 2 4"]
#          [--queue-capacities "64 1024 16384"] [--keep-tmp]
#
# --jobs (default 20000) is the measured job count of every point except:
# window 1 (--jobs-window1, default 10000: each job is a round trip) and
# params above 4 KiB (--jobs-large-payload, default 5000). Every point uses a
# warm-up of 500 jobs (100 at window 1). --repeat (default 3) is run.sh's.
# Exit status 0 only if every point succeeded.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/../.." && pwd)
run_sh="$script_dir/e2e/run.sh"

build_dir="$repo_dir/build/release"
edgerund=""
repeat=3
tables="window,payload,workers,memory"
jobs=20000
jobs_window1=10000
jobs_large_payload=5000
windows="1 8 64 256"
payloads="16 1024 16384"
workers_list="1 2 4"
queue_capacities="64 1024 16384"
keep_tmp=0

die() { echo "scaling.sh: $*" >&2; exit 64; }
while (($#)); do
  case "$1" in
    --build-dir) build_dir=${2:?}; shift 2 ;;
    --edgerund) edgerund=${2:?}; shift 2 ;;
    --repeat) repeat=${2:?}; shift 2 ;;
    --tables) tables=${2:?}; shift 2 ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    --jobs-window1) jobs_window1=${2:?}; shift 2 ;;
    --jobs-large-payload) jobs_large_payload=${2:?}; shift 2 ;;
    --windows) windows=${2:?}; shift 2 ;;
    --payloads) payloads=${2:?}; shift 2 ;;
    --workers-list) workers_list=${2:?}; shift 2 ;;
    --queue-capacities) queue_capacities=${2:?}; shift 2 ;;
    --keep-tmp) keep_tmp=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
# shellcheck disable=SC2086  # the lists are space-separated on purpose
for n in "$repeat" "$jobs" "$jobs_window1" "$jobs_large_payload" $windows $payloads $workers_list $queue_capacities; do
  [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number"
done
IFS=, read -r -a table_list <<<"$tables"
for t in "${table_list[@]}"; do
  [[ $t =~ ^(window|payload|workers|memory)$ ]] || die "no table '$t' (window, payload, workers, memory)"
done
[[ -x $run_sh ]] || die "$run_sh is missing"

# One jobs.max_payload_bytes (and max_result_bytes) for every payload point,
# so that only the params change between them: 32 KiB, or more if a params
# size needs it (16 KiB of params plus the envelope fits 32 KiB).
max_payload=32768
for b in $payloads; do ((b + 1024 <= max_payload)) || max_payload=$((b + 1024)); done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgerun-scaling.XXXXXX")
# The run.sh running now, if any. It is this script's only child; it stops
# what it started itself when it gets SIGTERM.
run_pid=""
# shellcheck disable=SC2317  # called by the traps
cleanup() {
  if [[ -n $run_pid ]]; then
    kill -TERM "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
  if ((keep_tmp)); then echo "scaling.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
# On SIGINT or SIGTERM: stop run.sh, then end by the same signal.
# shellcheck disable=SC2317  # called by the traps
on_signal() {
  # Ignored while cleaning up, so that a second signal (a Ctrl-C sent to the
  # whole process group reaches a caller too, which then sends SIGTERM) cannot
  # cut the clean-up short.
  trap '' INT TERM
  trap - EXIT
  cleanup
  trap - INT TERM
  kill -"$1" $$
}
trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

common=(--build-dir "$build_dir" --repeat "$repeat")
[[ -z $edgerund ]] || common+=(--edgerund "$edgerund")
status=0
started=$SECONDS
echo "scaling.sh: tables $tables, --repeat $repeat; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "logs in $tmp" >&2

# Runs run.sh for point $1 (a file name) with the rest as its options; its
# summary goes to $tmp/$1.summary, its output to $tmp/$1.out and .err. A
# failed point is reported and leaves whatever rows it has.
point() {
  local name=$1 t0=$SECONDS rc=0
  shift
  # Not in the foreground: `wait` returns at once on a trapped signal, while
  # bash would run the trap only once a foreground run.sh had ended. (A
  # background child ignores SIGINT, so a Ctrl-C reaches run.sh as the
  # SIGTERM of on_signal.)
  "$run_sh" "${common[@]}" --summary "$tmp/$name.summary" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  run_pid=$!
  wait "$run_pid" || rc=$?
  run_pid=""
  echo "scaling.sh: $name: $* ($((SECONDS - t0)) s)" >&2
  if ((rc != 0)); then
    status=1
    echo "scaling.sh: $name failed (exit $rc); the end of its log:" >&2
    tail -n 8 "$tmp/$name.err" >&2
  fi
}

# The cells of one point's throughput row: jobs/s of ceiling and of the
# edgerund variant $2 (default edgerund-noprogress) and their ratio, the same
# for CPU us/job, and both p99s.
throughput_cells() {
  [[ -s $1 ]] || { printf 'failed\n'; return; }
  jq -L "$script_dir/e2e" -s -r --arg v "${2:-edgerund-noprogress}" 'include "fmt";
    (map(select(.variant == "ceiling")) | .[0]) as $c
    | (map(select(.variant == $v)) | .[0]) as $e
    | [($c | val("jobs_per_s"; 0)), ($e | val("jobs_per_s"; 0)), ($e | vs("jobs_per_s")),
       ($c | val("cpu_us_per_job"; 1)), ($e | val("cpu_us_per_job"; 1)), ($e | vs("cpu_us_per_job")),
       ($c.median_run.p99_ms | fmt(3)), ($e.median_run.p99_ms | fmt(3))] | join("\t")' "$1"
}

# Prints tab-separated lines (a header, then rows) as a markdown table.
table() { awk -F'\t' -v left=1 -f "$script_dir/e2e/md_table.awk"; }

throughput_header="ceiling jobs/s	edgerund jobs/s	vs ceiling (runs)	ceiling CPU us/job	edgerund CPU us/job	vs ceiling (runs)	ceiling p99 ms	edgerund p99 ms"
throughput_legend="(edgerund-noprogress against the ceiling, echo jobs, medians over $repeat interleaved run(s) per point;
 \"vs ceiling\" the ratio of the medians, (runs) the min-max of the per-round ratios; CPU us/job is the device
 process's user+system CPU, all threads, in the measured window, per job; p99 of the median-jobs/s run)"

for t in "${table_list[@]}"; do
  case $t in
    window)
      for k in $windows; do
        if ((k == 1)); then n=$jobs_window1 w=100; else n=$jobs w=500; fi
        point "window-$k" --variants edgerund-noprogress --window "$k" --jobs "$n" --warmup "$w"
      done
      echo
      echo "### Throughput against the window (jobs in flight)"
      echo
      {
        echo "window	jobs	$throughput_header"
        for k in $windows; do
          if ((k == 1)); then n=$jobs_window1; else n=$jobs; fi
          echo "$k	$n	$(throughput_cells "$tmp/window-$k.summary")"
        done
      } | table
      echo "$throughput_legend" ;;
    payload)
      for b in $payloads; do
        if ((b > 4096)); then n=$jobs_large_payload; else n=$jobs; fi
        point "payload-$b" --variants edgerund-noprogress --params-bytes "$b" --max-payload-bytes "$max_payload" \
          --jobs "$n"
      done
      echo
      echo "### Throughput against the params size (window 64)"
      echo
      {
        echo "params B	jobs	$throughput_header"
        for b in $payloads; do
          if ((b > 4096)); then n=$jobs_large_payload; else n=$jobs; fi
          echo "$b	$n	$(throughput_cells "$tmp/payload-$b.summary")"
        done
      } | table
      echo "$throughput_legend"
      echo "(params {\"pad\":\"xx..\"} of exactly that many bytes, echoed back as the result; edgerund with"
      echo " jobs.max_payload_bytes = jobs.max_result_bytes = $max_payload at every point)" ;;
    workers)
      for w in $workers_list; do
        # echo runs on the loop whatever the workers; sleep {"ms":0} runs on one.
        point "workers-$w" --variants edgerund-pool --workers "$w" --jobs "$jobs"
      done
      echo
      echo "### Throughput against edgerund's workers (window 64)"
      echo
      {
        echo "workers	jobs	$throughput_header"
        for w in $workers_list; do
          echo "$w	$jobs	$(throughput_cells "$tmp/workers-$w.summary" edgerund-pool)"
        done
      } | table
      echo "$throughput_legend" | sed '1s/edgerund-noprogress against the ceiling, echo jobs/edgerund-pool (jobs sleep {"ms":0}, run on a worker) against the ceiling/'
      echo "(the ceiling has no workers: its row is measured again at each point, as the baseline of that point)" ;;
    memory)
      for q in $queue_capacities; do
        point "queue-$q" --memory --queue-capacity "$q" --jobs "$jobs"
      done
      echo
      echo "### edgerund's memory against jobs.queue_capacity (gateway defaults otherwise)"
      echo
      {
        echo "queue_capacity	edgerund idle RSS KiB	idle private dirty KiB	peak RSS KiB	ceiling idle RSS KiB	ceiling idle private dirty KiB	RSS vs ceiling (runs)	private dirty vs ceiling (runs)"
        for q in $queue_capacities; do
          f="$tmp/queue-$q.summary"
          if [[ -s $f ]]; then
            row=$(jq -L "$script_dir/e2e" -s -r 'include "fmt";
              (map(select(.variant == "ceiling-progress")) | .[0]) as $c
              | (map(select(.variant == "edgerund-gateway")) | .[0]) as $e
              | [($e | val("idle_rss_kib"; 0)), ($e | val("idle_private_dirty_kib"; 0)), ($e | val("peak_rss_kib"; 0)),
                 ($c | val("idle_rss_kib"; 0)), ($c | val("idle_private_dirty_kib"; 0)),
                 ($e | vs("idle_rss_kib")), ($e | vs("idle_private_dirty_kib"))] | join("\t")' "$f")
          else
            row=failed
          fi
          echo "$q	$row"
        done
      } | table
      echo "(medians over $repeat interleaved run(s) per point; idle: VmRSS and Private_Dirty (smaps_rollup) after"
      echo " start-up and one job; peak RSS: VmHWM after $jobs more jobs at window 64; config/edgerun.json with only"
      echo " device_id, mqtt.url, state_dir and jobs.queue_capacity changed; the ceiling is ceiling-progress)" ;;
  esac
done
echo
echo "(scaling.sh took $((SECONDS - started)) s)"
exit "$status"
