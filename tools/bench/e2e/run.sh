#!/usr/bin/env bash
# End-to-end benchmark: the same echo workload through a private mosquitto
# against (a) edgerun_e2e_ceiling, a device that answers at once (the broker
# ceiling), (b) edgerund with jobs.report_progress false and (c) edgerund with
# report_progress true. Prints a table with each row's jobs/s and CPU per job
# (cpu_us_per_job: the device process's user + system CPU, all threads, over
# the measured window, per job) and their ratios to the ceiling.
#
# usage: tools/bench/e2e/run.sh [EDGERUND] [--edgerund PATH] [--build-dir DIR]
#          [--jobs N] [--window K] [--warmup N] [--timeout-s S] [--workers W]
#          [--repeat R] [--ceiling-only] [--keep-tmp] [--jsonl FILE]
#
# Each variant runs R times (default 3), rounds interleaved; the table shows
# medians over the runs, their min-max, and the min-max of the ratios to the
# ceiling run of the same round. --jsonl FILE writes each run's JSON (the
# bench's, plus "variant" and "round") as one line. Exit status 0 only if
# every run succeeded.
#
# Each variant gets a fresh broker on a free 127.0.0.1 port, so no retained
# presence or session survives from one row to the next. Every wait is
# bounded; everything started here is stopped on exit.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/../../.." && pwd)

build_dir="$repo_dir/build/release"
edgerund=""
jobs=20000
window=64
warmup=500
timeout_s=120
workers=""
repeat=3
ceiling_only=0
keep_tmp=0
jsonl_out=""
mosquitto_bin=${MOSQUITTO:-/usr/sbin/mosquitto}

die() { echo "run.sh: $*" >&2; exit 64; }
while (($#)); do
  case "$1" in
    --edgerund) edgerund=${2:?}; shift 2 ;;
    --build-dir) build_dir=${2:?}; shift 2 ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    --window) window=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --timeout-s) timeout_s=${2:?}; shift 2 ;;
    --workers) workers=${2:?}; shift 2 ;;
    --repeat) repeat=${2:?}; shift 2 ;;
    --ceiling-only) ceiling_only=1; shift ;;
    --keep-tmp) keep_tmp=1; shift ;;
    --jsonl) jsonl_out=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) [[ -z $edgerund ]] || die "EDGERUND given twice"; edgerund=$1; shift ;;
  esac
done
for n in "$jobs" "$window" "$warmup" "$timeout_s" "$repeat" ${workers:+"$workers"}; do
  [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number"
done
((repeat >= 1)) || die "--repeat must be at least 1"
build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || die "no build directory $build_dir (use --build-dir)"
[[ -n $edgerund ]] || edgerund="$build_dir/core/daemon/edgerund"
bench="$build_dir/tools/bench/e2e/edgerun_e2e_bench"
ceiling="$build_dir/tools/bench/e2e/edgerun_e2e_ceiling"
for b in "$bench" "$ceiling" "$mosquitto_bin"; do
  [[ -x $b ]] || die "$b is missing; build the targets edgerun_e2e_bench edgerun_e2e_ceiling"
done
command -v jq >/dev/null || die "jq is missing (apt-get install jq)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgerun-e2e.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  if ((keep_tmp)); then echo "run.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
# SIGTERM, then SIGKILL after ~3 s; only processes this script started.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts a private broker; sets $port and $broker_pid.
start_broker() {
  local dir=$1 i
  port=$(free_port)
  mkdir -p "$dir"
  # max_queued_messages: mosquitto drops QoS 1 messages to a slow client past
  # 100 queued; a benchmark must never lose a status to that.
  cat >"$dir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
user $(id -un)
max_queued_messages 100000
log_dest file $dir/mosquitto.log
EOF
  "$mosquitto_bin" -c "$dir/mosquitto.conf" >"$dir/mosquitto.out" 2>&1 &
  broker_pid=$!
  pids+=("$broker_pid")
  for ((i = 0; i < 50; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "run.sh: mosquitto did not listen on 127.0.0.1:$port within 5 s:" >&2
  cat "$dir/mosquitto.out" "$dir/mosquitto.log" >&2 2>/dev/null || true
  return 1
}

# Runs the bench against device $2, whose process is $3, on the current
# broker; writes its JSON to $1. The bench reads the CPU time of the device
# and of the broker from /proc at the start and the end of its measured
# window.
run_bench() {
  local out=$1 device=$2 device_pid=$3
  "$bench" --url "mqtt://127.0.0.1:$port" --device "$device" --jobs "$jobs" --window "$window" \
    --warmup "$warmup" --timeout-s "$timeout_s" --online-timeout-s 10 --wait-online \
    --device-pid "$device_pid" --broker-pid "$broker_pid" --json >"$out"
}

variants=(ceiling edgerund-noprogress edgerund-progress)

# (a) the ceiling device.
run_ceiling() {
  local dir=$1 cpid rc=0
  start_broker "$dir" || return 1
  "$ceiling" --url "mqtt://127.0.0.1:$port" --device bench-01 2>"$dir/ceiling.err" &
  cpid=$!
  pids+=("$cpid")
  run_bench "$dir/bench.json" bench-01 "$cpid" || rc=$?
  stop_pid "$cpid"
  stop_pid "$broker_pid"
  return "$rc"
}

# (b), (c): edgerund with jobs.report_progress $2.
run_edgerund() {
  local dir=$1 progress=$2 dpid rc=0
  start_broker "$dir" || return 1
  mkdir -p "$dir/state"
  local workers_line=""
  [[ -z $workers ]] || workers_line="\"workers\": $workers,"
  cat >"$dir/edgerun.json" <<EOF
{
  "device_id": "bench-01",
  $workers_line
  "state_dir": "$dir/state",
  "mqtt": { "url": "mqtt://127.0.0.1:$port" },
  "jobs": { "queue_capacity": $((window > 64 ? window : 64)), "report_progress": $progress },
  "telemetry": { "interval_ms": 3600000 },
  "log": { "level": "warn" }
}
EOF
  "$edgerund" --config "$dir/edgerun.json" >"$dir/edgerund.out" 2>&1 &
  dpid=$!
  pids+=("$dpid")
  # The bench's --wait-online waits (bounded) for edgerund's retained
  # presence, which it publishes only after subscribing to jobs/submit.
  run_bench "$dir/bench.json" bench-01 "$dpid" || rc=$?
  if ! kill -0 "$dpid" 2>/dev/null; then
    echo "run.sh: edgerund exited early; its output:" >&2
    tail -n 20 "$dir/edgerund.out" >&2 || true
  fi
  stop_pid "$dpid"
  stop_pid "$broker_pid"
  return "$rc"
}

# One run of variant $1 into directory $2.
run_variant() {
  case "$1" in
    ceiling) run_ceiling "$2" ;;
    edgerund-noprogress) run_edgerund "$2" false ;;
    edgerund-progress) run_edgerund "$2" true ;;
  esac
}

echo "run.sh: $jobs jobs, window $window, warm-up $warmup, $repeat run(s) per variant;" \
  "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); temp dir $tmp" >&2
declare -A note failures
run_list=(ceiling)
if ((ceiling_only)); then
  note[edgerund-noprogress]="not run (--ceiling-only)"
  note[edgerund-progress]="not run (--ceiling-only)"
elif [[ ! -x $edgerund ]]; then
  note[edgerund-noprogress]="not run ($edgerund not found)"
  note[edgerund-progress]="not run ($edgerund not found)"
else
  run_list+=(edgerund-noprogress edgerund-progress)
fi
# Rounds interleave the variants, so that a change in the machine's load
# during the script hits every variant alike rather than one of them.
runs="$tmp/runs.jsonl"
: >"$runs"
for ((r = 1; r <= repeat; r++)); do
  for v in "${run_list[@]}"; do
    if ! run_variant "$v" "$tmp/$v-$r"; then
      failures[$v]=$((${failures[$v]:-0} + 1))
      rm -f "$tmp/$v-$r/bench.json"
      continue
    fi
    jq -c --arg v "$v" --argjson r "$r" '. + {variant: $v, round: $r}' "$tmp/$v-$r/bench.json" >>"$runs"
    jq -r --arg v "$v" --argjson r "$r" --argjson n "$repeat" '
      def us: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
      "run.sh: round \($r)/\($n) \($v): \(.jobs_per_s | round) jobs/s; CPU us/job: device \(.cpu_us_per_job | us),"
      + " broker \(.broker_cpu_us_per_job | us), submitter \(.submitter_cpu_us_per_job | us)"' \
      "$tmp/$v-$r/bench.json" >&2
  done
done
[[ -z $jsonl_out ]] || cp "$runs" "$jsonl_out"

# Per variant, from the runs' JSON lines, as space-separated fields ("-" for
# none): runs, jobs/s median min max, p50 p99 of the median-jobs/s run,
# jobs/s ratio to the ceiling (of the medians) and min max of the per-round
# ratios, cpu_us_per_job median min max, its ratio to the ceiling and the
# per-round min max, broker CPU us/job median. A median of an even count is
# the lower middle.
summarize() {
  jq -s -r --arg v "$1" '
    def med: if length == 0 then null else sort | .[(length - 1) / 2 | floor] end;
    def ratio(a; b): if a == null or b == null or b == 0 then null else a / b end;
    map(select(.variant == "ceiling")) as $c
    | map(select(.variant == $v)) as $runs
    | if ($runs | length) == 0 then empty else
      ($runs | sort_by(.jobs_per_s) | .[(length - 1) / 2 | floor]) as $m
      | ($runs | map(.jobs_per_s)) as $rate
      | ($runs | map(.cpu_us_per_job | select(. != null))) as $cpu
      | [$runs[] | . as $x | ($c | map(select(.round == $x.round)) | .[0]) as $y | select($y != null)
         | {rate: ratio($x.jobs_per_s; $y.jobs_per_s), cpu: ratio($x.cpu_us_per_job; $y.cpu_us_per_job)}] as $pr
      | [($runs | length), ($rate | med), ($rate | min), ($rate | max), $m.p50_ms, $m.p99_ms,
         ratio($rate | med; $c | map(.jobs_per_s) | med),
         ($pr | map(.rate | select(. != null)) | min), ($pr | map(.rate | select(. != null)) | max),
         ($cpu | med), ($cpu | min), ($cpu | max),
         ratio($cpu | med; $c | map(.cpu_us_per_job | select(. != null)) | med),
         ($pr | map(.cpu | select(. != null)) | min), ($pr | map(.cpu | select(. != null)) | max),
         ($runs | map(.broker_cpu_us_per_job | select(. != null)) | med)]
      | map(if . == null then "-" else tostring end) | join(" ")
    end' "$runs"
}

# fmt DECIMALS VALUE: the value rounded, or "-".
fmt() { if [[ $2 == - ]]; then printf -- -; else printf "%.$1f" "$2"; fi; }

row_format='| %-20s | %6s | %13s | %17s | %10s | %11s | %17s | %13s | %7s | %7s |\n'
printf "\n$row_format" variant 'jobs/s' 'jobs/s range' 'vs ceiling (runs)' 'CPU us/job' 'CPU range' \
  'vs ceiling (runs)' 'broker us/job' 'p50 ms' 'p99 ms'
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ---------------------- -------: --------------: ------------------: \
  -----------: ------------: ------------------: --------------: --------: --------:
status=0
for v in "${variants[@]}"; do
  if [[ -n ${failures[$v]:-} ]]; then
    status=1
    echo "run.sh: $v failed in ${failures[$v]} of $repeat run(s); see above" >&2
  fi
  line=$(summarize "$v")
  if [[ -n $line ]]; then
    read -r n rate lo hi p50 p99 ratio rlo rhi cpu clo chi cratio crlo crhi broker <<<"$line"
    printf "$row_format" "$v" "$(fmt 0 "$rate")" \
      "$(fmt 0 "$lo")-$(fmt 0 "$hi")" "$(fmt 2 "$ratio") ($(fmt 2 "$rlo")-$(fmt 2 "$rhi"))" "$(fmt 1 "$cpu")" \
      "$(fmt 1 "$clo")-$(fmt 1 "$chi")" "$(fmt 2 "$cratio") ($(fmt 2 "$crlo")-$(fmt 2 "$crhi"))" "$(fmt 1 "$broker")" \
      "$(fmt 3 "$p50")" "$(fmt 3 "$p99")"
  else
    printf '| %-20s | %s |\n' "$v" "${note[$v]:-failed}"
  fi
done
echo "(medians over $repeat interleaved run(s) per variant, ranges min-max; \"vs ceiling\" is the ratio of the"
echo " medians, (runs) the min-max of the ratios to the ceiling run of the same round; CPU us/job is the device"
echo " process's user+system CPU, all threads, in the measured window, per job; p50/p99 are the median-jobs/s run's)"
exit "$status"
