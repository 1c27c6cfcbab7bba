#!/usr/bin/env bash
# End-to-end benchmark: jobs through a private mosquitto against edgerund and
# against a baseline measured in the same run, rounds interleaved. Each row is
# a variant; its ratio is to its baseline row (README.md beside this file).
#
# Modes (one per run):
#   (default)  throughput: echo jobs at window K. ceiling and
#              edgerund-noprogress (one status per job; vs ceiling),
#              edgerund-pool (the same, but jobs "sleep" {"ms":0}, which run
#              on a worker where echo runs on the loop; vs ceiling),
#              ceiling-progress and edgerund-progress (queued, running,
#              succeeded; vs ceiling-progress). jobs/s and CPU per job
#              (cpu_us_per_job: the device process's user + system CPU, all
#              threads and reaped children, over the measured window, per job).
#   --latency  the same at window 1 (default 10000 jobs): p50/p99 of ceiling
#              and edgerund-noprogress, ratios to the ceiling's.
#   --memory   edgerund at the gateway defaults (config/edgerun.json; only the
#              broker URL, device id and state_dir changed) and
#              ceiling-progress: VmRSS and Private_Dirty after start and one
#              job, then the peak RSS (VmHWM) after N jobs at window K.
#   --exec     exec jobs running /bin/true: edgerund-exec (an exec type, W
#              workers) against edgerun_exec_launcher (launcher: the same
#              isolation, W children at a time, N launches), and
#              launcher-run-process (the launcher through edgerund's own
#              port::run_process). jobs/s and CPU per job, children included.
#
# usage: tools/bench/e2e/run.sh [EDGERUND] [--edgerund PATH] [--build-dir DIR]
#          [--latency | --memory | --exec] [--variants V1,V2,...]
#          [--jobs N] [--window K] [--warmup N] [--timeout-s S] [--workers W]
#          [--queue-capacity Q] [--params-bytes B] [--max-payload-bytes B]
#          [--journal-sync MODE] [--journal-batch-ms MS] [--no-sync-count]
#          [--repeat R] [--ceiling-only] [--no-broker-nodelay] [--keep-tmp]
#          [--jsonl FILE] [--summary FILE]
#
# --journal-sync MODE sets edgerund's journal in every edgerund variant's
# config (the gateway's too): off (journal.enabled false), none, batch or
# always (journal.sync; journal.batch_ms stays at its default, 10, unless
# --journal-batch-ms MS gives it). Default
# batch, edgerund's own default. Its state_dir is in the temp dir when that
# is on a disk; when the temp dir is on tmpfs (or ramfs), where an fsync
# costs nothing, it is under /var/tmp instead, and the first line says so.
#
# Writes and fsyncs: for every device, the ceilings too (0 write_bytes and
# fsyncs, their wchar the MQTT traffic alone; launcher rows show "-"), the
# bench reads /proc/<pid>/io of the device process at the start and the end
# of the measured window, as it reads its CPU. write B/job is write_bytes
# per job (what the kernel counted as sent toward the disk: 4 KiB pages
# dirtied, so a page written again after an fsync counts again); wchar
# B/job the bytes passed to write(2) and the like per job, sockets included
# (the MQTT traffic: compare with the ceiling's, or with --journal-sync
# off). fsyncs/s are the device's fsync(2) + fdatasync(2)
# calls in the window per second of it, counted by the kernel (a perf counter
# on the tracepoints syscalls:sys_enter_fsync / sys_enter_fdatasync for each
# of the device's threads, the bench's --count-syncs): needs root (or
# perf_event_paranoid <= 1) and tracefs at /sys/kernel/tracing, else "-".
# While it counts, every system call on the machine takes the kernel's traced
# path, a small cost to every variant alike; --no-sync-count leaves it out.
#
# Each variant runs R times (default 3), rounds interleaved; the table shows
# medians over the runs, their min-max, and the min-max of the ratios to the
# baseline run of the same round. --variants runs only those (and their
# baselines). --jsonl FILE writes each run's JSON (plus "variant" and
# "round") as one line; --summary FILE the per-variant medians and ratios, one
# JSON object a line. Exit status 0 only if every run succeeded.
#
# Each run gets a fresh broker on a free 127.0.0.1 port, so no retained
# presence or session survives from one run to the next. The broker sets
# set_tcp_nodelay true unless --no-broker-nodelay (the broker set-up of the
# figures measured up to 2026-12-07). Every wait is bounded; everything
# started here is stopped on exit, Ctrl-C included.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/../../.." && pwd)
script_name=run.sh

build_dir="$repo_dir/build/release"
edgerund=""
mode=throughput
variants_opt=""
jobs=""
window=""
warmup=""
timeout_s=120
workers=""
queue_capacity=""
params_bytes=""
max_payload_bytes=""
repeat=3
journal_sync="batch"
count_syncs=1
broker_nodelay=true
ceiling_only=0
keep_tmp=0
jsonl_out=""
summary_out=""
mosquitto_bin=${MOSQUITTO:-/usr/sbin/mosquitto}
gateway_config="$repo_dir/config/edgerun.json"

die() { echo "run.sh: $*" >&2; exit 64; }
set_mode() { [[ $mode == throughput || $mode == "$1" ]] || die "choose one of --latency, --memory, --exec"; mode=$1; }
while (($#)); do
  case "$1" in
    --edgerund) edgerund=${2:?}; shift 2 ;;
    --build-dir) build_dir=${2:?}; shift 2 ;;
    --latency) set_mode latency; shift ;;
    --memory) set_mode memory; shift ;;
    --exec) set_mode exec; shift ;;
    --variants) variants_opt=${2:?}; shift 2 ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    --window) window=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --timeout-s) timeout_s=${2:?}; shift 2 ;;
    --workers) workers=${2:?}; shift 2 ;;
    --queue-capacity) queue_capacity=${2:?}; shift 2 ;;
    --params-bytes) params_bytes=${2:?}; shift 2 ;;
    --max-payload-bytes) max_payload_bytes=${2:?}; shift 2 ;;
    --repeat) repeat=${2:?}; shift 2 ;;
    --journal-sync) journal_sync=${2:?}; shift 2 ;;
    --journal-batch-ms) journal_batch_ms=${2:?}; shift 2 ;;
    --no-sync-count) count_syncs=0; shift ;;
    --ceiling-only) ceiling_only=1; shift ;;
    --no-broker-nodelay) broker_nodelay=false; shift ;;
    --keep-tmp) keep_tmp=1; shift ;;
    --jsonl) jsonl_out=${2:?}; shift 2 ;;
    --summary) summary_out=${2:?}; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) [[ -z $edgerund ]] || die "EDGERUND given twice"; edgerund=$1; shift ;;
  esac
done

# Per mode: its variants in table order, each one's baseline ("" for none),
# and the defaults of the job counts.
declare -A baseline_of
case $mode in
  throughput)
    all_variants=(ceiling edgerund-noprogress edgerund-pool ceiling-progress edgerund-progress)
    baseline_of=([ceiling]="" [edgerund-noprogress]=ceiling [edgerund-pool]=ceiling [ceiling-progress]=ceiling
      [edgerund-progress]=ceiling-progress)
    : "${jobs:=20000}" "${window:=64}" "${warmup:=500}" ;;
  latency)
    all_variants=(ceiling edgerund-noprogress)
    baseline_of=([ceiling]="" [edgerund-noprogress]=ceiling)
    : "${jobs:=10000}" "${window:=1}" "${warmup:=100}" ;;
  memory)
    all_variants=(ceiling-progress edgerund-gateway)
    baseline_of=([ceiling-progress]="" [edgerund-gateway]=ceiling-progress)
    : "${jobs:=20000}" "${window:=64}" "${warmup:=500}" ;;
  exec)
    all_variants=(launcher launcher-run-process edgerund-exec)
    baseline_of=([launcher]="" [launcher-run-process]=launcher [edgerund-exec]=launcher)
    : "${jobs:=2000}" "${window:=64}" "${warmup:=100}" ;;
esac

for n in "$jobs" "$window" "$warmup" "$timeout_s" "$repeat" ${workers:+"$workers"} ${queue_capacity:+"$queue_capacity"} \
  ${params_bytes:+"$params_bytes"} ${max_payload_bytes:+"$max_payload_bytes"}; do
  [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a number"
done
((repeat >= 1)) || die "--repeat must be at least 1"
[[ $journal_sync =~ ^(off|none|batch|always)$ ]] || die "--journal-sync takes off, none, batch or always"
((jobs >= 1 && window >= 1)) || die "--jobs and --window must be at least 1"
[[ -z $workers ]] || ((workers >= 1)) || die "--workers must be at least 1"
[[ -z $params_bytes ]] || ((params_bytes >= 10)) || die "--params-bytes must be at least 10 ({\"pad\":\"\"})"
[[ -z $params_bytes || $mode == throughput || $mode == latency ]] || die "--params-bytes is for echo jobs (throughput, --latency)"
[[ -z $max_payload_bytes || $mode != memory ]] || die "--memory keeps the gateway's jobs.max_payload_bytes"
# The exec variants compare W workers with W launcher threads: W must be the
# same number on both sides, so it is given to edgerund explicitly.
[[ $mode != exec || -n $workers ]] || workers=$(nproc)

build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || die "no build directory $build_dir (use --build-dir)"
[[ -n $edgerund ]] || edgerund="$build_dir/core/daemon/edgerund"
bench="$build_dir/tools/bench/e2e/edgerun_e2e_bench"
ceiling="$build_dir/tools/bench/e2e/edgerun_e2e_ceiling"
launcher="$build_dir/tools/bench/edgerun_exec_launcher"
needed=("$bench" "$ceiling" "$mosquitto_bin")
[[ $mode != exec ]] || needed=("$bench" "$launcher" "$mosquitto_bin")
for b in "${needed[@]}"; do
  [[ -x $b ]] || die "$b is missing; build the targets edgerun_e2e_bench edgerun_e2e_ceiling edgerun_exec_launcher"
done
command -v jq >/dev/null || die "jq is missing (apt-get install jq)"
[[ $mode != memory ]] || jq -e 'type == "object"' "$gateway_config" >/dev/null || die "cannot read $gateway_config"

# The variants to run: --variants (each with its baseline), or all of the
# mode's; then, without edgerund, only those that do not need it.
declare -A wanted note failures
if [[ -n $variants_opt ]]; then
  IFS=, read -r -a picked <<<"$variants_opt"
  for v in "${picked[@]}"; do
    [[ -v baseline_of[$v] ]] || die "no variant '$v' in this mode (its variants: ${all_variants[*]})"
    wanted[$v]=1
    [[ -z ${baseline_of[$v]} ]] || wanted[${baseline_of[$v]}]=1
  done
else
  for v in "${all_variants[@]}"; do wanted[$v]=1; done
fi
# edgerund-pool's jobs are sleep {"ms":0}; they cannot carry --params-bytes.
[[ -z $params_bytes ]] || wanted[edgerund-pool]=""
variants=()
run_list=()
for v in "${all_variants[@]}"; do
  [[ -n ${wanted[$v]:-} ]] || continue
  variants+=("$v")
  if [[ $v == edgerund-* ]] && ((ceiling_only)); then
    note[$v]="--ceiling-only"
  elif [[ $v == edgerund-* && ! -x $edgerund ]]; then
    note[$v]="$edgerund not found"
  else
    run_list+=("$v")
  fi
done

# edgerund's limits for large params: the submission (params plus ~100 B of
# envelope) must fit jobs.max_payload_bytes and the echoed result
# jobs.max_result_bytes; memory.json_arena_bytes must be at least 4 times the
# former. Unless given, raised only when the defaults (16384) are too small.
if [[ -z $max_payload_bytes && -n $params_bytes ]] && ((params_bytes + 512 > 16384)); then
  max_payload_bytes=$((params_bytes + 1024))
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgerun-e2e.XXXXXX")
# edgerund's state_dir (the journal) must be on a disk: on tmpfs an fsync
# costs nothing. When the temp dir is not, state_base (devices.sh) moves the
# state dirs under /var/tmp.
state_base=""
tmp_fs=$(stat -f -c %T "$tmp")
state_fs=$tmp_fs
if [[ $tmp_fs == tmpfs || $tmp_fs == ramfs ]]; then
  state_base=$(mktemp -d /var/tmp/edgerun-e2e-state.XXXXXX)
  state_fs=$(stat -f -c %T "$state_base")
fi
# The processes this script has started and not yet stopped and waited for.
pids=()
# shellcheck disable=SC2317  # called by the traps
cleanup() {
  local pid
  for pid in ${pids[@]+"${pids[@]}"}; do stop_pid "$pid"; done
  if ((keep_tmp)); then
    echo "run.sh: kept $tmp${state_base:+ and $state_base}" >&2
  else
    rm -rf "$tmp"
    [[ -z $state_base ]] || rm -rf "$state_base"
  fi
}
forget_pid() {
  local p keep=()
  for p in ${pids[@]+"${pids[@]}"}; do [[ $p == "$1" ]] || keep+=("$p"); done
  pids=(${keep[@]+"${keep[@]}"})
}
# SIGTERM, then SIGKILL after ~3 s; only processes this script started.
stop_pid() {
  local pid=$1 i
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}
# Runs a command (the bench, the launcher) as a child and waits for it;
# returns its exit status. Not in the foreground: the bench handles SIGINT
# itself and exits 2, and bash, seeing a foreground child that did not die of
# the SIGINT, would ignore the Ctrl-C and go on with the next run. `wait`
# returns at once on a trapped signal, and the trap stops the child.
run_child() {
  local pid rc=0
  "$@" &
  pid=$!
  pids+=("$pid")
  wait "$pid" || rc=$?
  forget_pid "$pid"
  return "$rc"
}
# On SIGINT or SIGTERM: stop everything, then end by the same signal, so that
# a calling script (scaling.sh) sees that and stops too.
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

# free_port, start_broker and write_edgerund_config, shared with profile.sh.
# shellcheck source=tools/bench/e2e/devices.sh
source "$script_dir/devices.sh"

# Starts the device of variant $1 (files in $2) on the current broker; sets
# $device_pid. Started directly, not through a shell, so that the pid is the
# device's own.
start_device() {
  local v=$1 dir=$2
  case $v in
    ceiling) "$ceiling" --url "mqtt://127.0.0.1:$port" --device bench-01 2>"$dir/device.err" & ;;
    ceiling-progress) "$ceiling" --url "mqtt://127.0.0.1:$port" --device bench-01 --progress 2>"$dir/device.err" & ;;
    edgerund-*)
      write_edgerund_config "$v" "$dir"
      "$edgerund" --config "$dir/edgerun.json" >"$dir/device.err" 2>&1 & ;;
  esac
  device_pid=$!
  pids+=("$device_pid")
}

# Runs the bench against the current device and broker: $1 the JSON output,
# $2 jobs, $3 window, $4 warm-up. The bench's --wait-online waits (bounded)
# for the device's retained presence, which both devices publish only after
# subscribing to jobs/submit, and it reads the CPU time of the device and the
# broker from /proc at the start and the end of its measured window.
run_bench() {
  local out=$1 n=$2 k=$3 w=$4 extra=()
  [[ $mode != exec ]] || extra+=(--type true)
  [[ $current_variant != edgerund-pool ]] || extra+=(--type sleep --params '{"ms":0}')
  [[ -z $params_bytes ]] || extra+=(--params-bytes "$params_bytes")
  ((!count_syncs)) || extra+=(--count-syncs)
  run_child "$bench" --url "mqtt://127.0.0.1:$port" --device bench-01 --jobs "$n" --window "$k" \
    --warmup "$w" --timeout-s "$timeout_s" --online-timeout-s 10 --wait-online \
    --device-pid "$device_pid" --broker-pid "$broker_pid" ${extra[@]+"${extra[@]}"} --json >"$out"
}

# Memory of process $1 in KiB: "VmRSS VmHWM Private_Dirty". VmRSS and VmHWM
# from /proc/<pid>/status; Private_Dirty from /proc/<pid>/smaps_rollup, where
# the kernel has summed it over all mappings.
read_memory() {
  local rss hwm pd
  rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status")
  hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status")
  pd=$(awk '$1 == "Private_Dirty:" { s += $2 } END { print s + 0 }' "/proc/$1/smaps_rollup")
  [[ -n $rss && -n $hwm ]] || return 1
  echo "$rss $hwm $pd"
}

# One run of a device variant (ceiling*, edgerund-*) into directory $2; its
# JSON goes to $2/run.json.
run_device() {
  local v=$1 dir=$2 rc=0 mem idle=() after=()
  current_variant=$v
  start_broker "$dir" || return 1
  start_device "$v" "$dir"
  if [[ $mode == memory ]]; then
    # Idle: after start-up and one job, read as soon as its terminal status
    # has arrived. Then the peak over N more jobs.
    run_bench "$dir/one.json" 1 1 0 || rc=$?
    ((rc != 0)) || mem=$(read_memory "$device_pid") || rc=1
    ((rc != 0)) || read -r -a idle <<<"$mem"
    ((rc != 0)) || run_bench "$dir/bench.json" "$jobs" "$window" "$warmup" || rc=$?
    ((rc != 0)) || mem=$(read_memory "$device_pid") || rc=1
    ((rc != 0)) || read -r -a after <<<"$mem"
    if ((rc == 0)); then
      jq -c --argjson rss "${idle[0]}" --argjson hwm "${idle[1]}" --argjson pd "${idle[2]}" \
        --argjson rss2 "${after[0]}" --argjson hwm2 "${after[1]}" --argjson pd2 "${after[2]}" \
        '. + {idle_rss_kib: $rss, idle_hwm_kib: $hwm, idle_private_dirty_kib: $pd,
              peak_rss_kib: $hwm2, rss_after_kib: $rss2, private_dirty_after_kib: $pd2}' \
        "$dir/bench.json" >"$dir/run.json"
    fi
  else
    run_bench "$dir/bench.json" "$jobs" "$window" "$warmup" || rc=$?
    ((rc != 0)) || cp "$dir/bench.json" "$dir/run.json"
  fi
  if ! kill -0 "$device_pid" 2>/dev/null; then
    echo "run.sh: $v exited early; its output:" >&2
    tail -n 20 "$dir/device.err" >&2 || true
  fi
  stop_pid "$device_pid"
  stop_pid "$broker_pid"
  return "$rc"
}

# One run of the launcher, waiting as $3 says, into directory $2. No broker:
# it only starts programs. timeout bounds it (SIGTERM after --timeout-s,
# SIGKILL 3 s later, to the launcher and its children).
run_launcher() {
  local dir=$2 wait=$3
  mkdir -p "$dir"
  run_child timeout -k 3 "$timeout_s" "$launcher" --program /bin/true --type true --launches "$jobs" \
    --warmup "$warmup" --workers "$workers" --wait "$wait" --json >"$dir/run.json" 2>"$dir/launcher.err" || {
    cat "$dir/launcher.err" >&2
    return 1
  }
}

# One run of variant $1 into directory $2.
run_variant() {
  case "$1" in
    launcher) run_launcher "$1" "$2" direct ;;
    launcher-run-process) run_launcher "$1" "$2" run-process ;;
    *) run_device "$1" "$2" ;;
  esac
}

describe="$jobs jobs, window $window, warm-up $warmup"
[[ $mode != latency ]] || describe="$jobs jobs at window $window, warm-up $warmup"
[[ $mode != exec ]] || describe="$jobs exec jobs of /bin/true, window $window, warm-up $warmup, $workers workers"
[[ -z $params_bytes ]] || describe+=", params $params_bytes B"
[[ -z $max_payload_bytes ]] || describe+=", jobs.max_payload_bytes $max_payload_bytes"
[[ -z $queue_capacity ]] || describe+=", jobs.queue_capacity $queue_capacity"
[[ $mode != memory ]] || describe+="; edgerund-gateway from $gateway_config"
[[ $broker_nodelay == true ]] || describe+="; broker without set_tcp_nodelay"
if [[ $journal_sync == off ]]; then
  describe+="; edgerund without journal (journal.enabled false)"
else
  describe+="; edgerund journal.sync $journal_sync"
fi
state_where="state_dir in the temp dir ($state_fs)"
[[ -z $state_base ]] || state_where="temp dir on $tmp_fs, so state_dir under $state_base ($state_fs)"
echo "run.sh: $mode: $describe; $repeat run(s) per variant; $(nproc) CPUs," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); temp dir $tmp; $state_where" >&2

# Rounds interleave the variants, so that a change in the machine's load
# during the script hits every variant alike rather than one of them.
runs="$tmp/runs.jsonl"
: >"$runs"
for ((r = 1; r <= repeat; r++)); do
  for v in "${run_list[@]}"; do
    if ! run_variant "$v" "$tmp/$v-$r"; then
      failures[$v]=$((${failures[$v]:-0} + 1))
      rm -f "$tmp/$v-$r/run.json"
      continue
    fi
    # children_cpu_us_per_job: the part of cpu_us_per_job spent in reaped
    # children (the bench's device_children_cpu_s, the launcher's
    # children_cpu_s).
    # journal_sync: the --journal-sync of an edgerund variant, else null.
    jq -c --arg v "$v" --argjson r "$r" --arg js "$journal_sync" '
      . + {variant: $v, round: $r, journal_sync: (if ($v | startswith("edgerund")) then $js else null end),
           children_cpu_us_per_job: ((.device_children_cpu_s // .children_cpu_s) as $c
             | if $c == null or .jobs == 0 then null else $c * 1e6 / .jobs end)}' \
      "$tmp/$v-$r/run.json" >>"$runs"
    tail -n 1 "$runs" | jq -r --argjson n "$repeat" '
      def us: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
      def ms: if . == null then "-" else (. * 1000 | round / 1000 | tostring) end;
      "run.sh: round \(.round)/\($n) \(.variant): \(.jobs_per_s | round) jobs/s, p50 \(.p50_ms | ms) ms,"
      + " p99 \(.p99_ms | ms) ms; CPU us/job: device \(.cpu_us_per_job | us),"
      + " broker \(.broker_cpu_us_per_job | us), submitter \(.submitter_cpu_us_per_job | us)"
      + "; device B/job: write_bytes \(.write_bytes_per_job | us), wchar \(.wchar_per_job | us);"
      + " fsyncs/s \(.fsyncs_per_s | us)"
      + if .idle_rss_kib then "; KiB: idle RSS \(.idle_rss_kib), idle private dirty \(.idle_private_dirty_kib),"
          + " peak RSS \(.peak_rss_kib)" else "" end' >&2
  done
done
[[ -z $jsonl_out ]] || cp "$runs" "$jsonl_out"

# Per variant, from the runs' JSON lines: for each metric the median, min and
# max over its runs, the ratio of its median to the baseline's median, and
# the min and max of the per-round ratios (each run divided by the baseline's
# run of the same round). A median of an even count is the lower middle.
# "median_run" is the run with the median jobs/s.
spec=$(for v in "${variants[@]}"; do
  jq -n --arg v "$v" --arg b "${baseline_of[$v]}" --arg note "${note[$v]:-}" --argjson failed "${failures[$v]:-0}" \
    --arg js "$journal_sync" \
    '{variant: $v, baseline: (if $b == "" then null else $b end), note: $note, failed: $failed,
      journal_sync: (if ($v | startswith("edgerund")) then $js else null end)}'
done | jq -s -c .)
summary="$tmp/summary.jsonl"
jq -s -c --argjson spec "$spec" --arg mode "$mode" '
  def med: if length == 0 then null else sort | .[(length - 1) / 2 | floor] end;
  def ratio(a; b): if a == null or b == null or b == 0 then null else a / b end;
  ["jobs_per_s", "cpu_us_per_job", "children_cpu_us_per_job", "broker_cpu_us_per_job", "p50_ms", "p99_ms",
   "idle_rss_kib", "idle_private_dirty_kib", "peak_rss_kib", "write_bytes_per_job", "wchar_per_job", "fsyncs_per_s"]
  as $metrics
  | . as $all
  | $spec[] as $s
  | ($all | map(select(.variant == $s.variant))) as $runs
  | ($all | map(select(.variant == $s.baseline))) as $base
  | $s + {mode: $mode, runs: ($runs | length),
      median_run: (if ($runs | length) == 0 then null
                   else $runs | sort_by(.jobs_per_s) | .[(length - 1) / 2 | floor] | {p50_ms, p99_ms, round} end),
      m: ([$metrics[] as $k
           | ($runs | map(.[$k] | select(. != null))) as $xs
           | ($base | map(.[$k] | select(. != null))) as $bs
           | [$runs[] | . as $x | ($base | map(select(.round == $x.round)) | .[0]) as $y
              | select($y != null) | ratio($x | .[$k]; $y | .[$k]) | select(. != null)] as $pr
           | {key: $k, value: {med: ($xs | med), min: ($xs | min), max: ($xs | max),
                               ratio: ratio($xs | med; $bs | med), rmin: ($pr | min), rmax: ($pr | max)}}]
          | from_entries)}' "$runs" >"$summary"
[[ -z $summary_out ]] || cp "$summary" "$summary_out"

# The table of this mode, one tab-separated line a row, aligned by
# md_table.awk; the cells (val, range, vs) are fmt.jq's.
# shellcheck disable=SC2016  # a jq program: its $ names are jq's
table_jq='include "fmt";
  def row(cells): if .runs == 0 then [.variant, .baseline // "-", (if .note != "" then "not run" else "failed" end)]
    else [.variant, .baseline // "-"] + cells end | join("\t");
  def io: [val("write_bytes_per_job"; 0), val("wchar_per_job"; 0), val("fsyncs_per_s"; 1)];'
# The last three columns of every table.
io_header="	write B/job	wchar B/job	fsyncs/s"
io_legend="write B/job (write_bytes), wchar B/job and fsyncs/s (fsync + fdatasync calls) are the device process's in
 the measured window, medians; edgerund's journal: "
if [[ $journal_sync == off ]]; then io_legend+="off (journal.enabled false)"; else io_legend+="journal.sync $journal_sync"; fi
case $mode in
  throughput)
    header="variant	baseline	jobs/s	jobs/s range	vs baseline (runs)	CPU us/job	CPU range	vs baseline (runs)	broker us/job	p50 ms	p99 ms"
    cells='row([val("jobs_per_s"; 0), range("jobs_per_s"; 0), vs("jobs_per_s"), val("cpu_us_per_job"; 1),
      range("cpu_us_per_job"; 1), vs("cpu_us_per_job"), val("broker_cpu_us_per_job"; 1),
      (.median_run.p50_ms | fmt(3)), (.median_run.p99_ms | fmt(3))] + io)'
    legend="(medians over $repeat interleaved run(s) per variant, ranges min-max; \"vs baseline\" is the ratio of the
 medians, (runs) the min-max of the ratios to the baseline's run of the same round; CPU us/job is the device
 process's user+system CPU, all threads and reaped children, in the measured window, per job; p50/p99 are the
 median-jobs/s run's)" ;;
  latency)
    header="variant	baseline	p50 ms	p50 range	p50 vs baseline (runs)	p99 ms	p99 range	p99 vs baseline (runs)	jobs/s	CPU us/job"
    cells='row([val("p50_ms"; 3), range("p50_ms"; 3), vs("p50_ms"), val("p99_ms"; 3), range("p99_ms"; 3), vs("p99_ms"),
      val("jobs_per_s"; 0), val("cpu_us_per_job"; 1)] + io)'
    legend="(window $window, $jobs measured jobs per run; p50 and p99 are medians over $repeat interleaved run(s) of each
 run's nearest-rank percentile, publish -> terminal status; \"vs baseline\" the ratio of the medians, (runs) the
 min-max of the per-round ratios)" ;;
  memory)
    header="variant	baseline	idle RSS KiB	vs baseline (runs)	idle private dirty KiB	vs baseline (runs)	peak RSS KiB	vs baseline (runs)	jobs/s"
    cells='row([val("idle_rss_kib"; 0), vs("idle_rss_kib"), val("idle_private_dirty_kib"; 0), vs("idle_private_dirty_kib"),
      val("peak_rss_kib"; 0), vs("peak_rss_kib"), val("jobs_per_s"; 0)] + io)'
    legend="(medians over $repeat interleaved run(s); idle: VmRSS and Private_Dirty (smaps_rollup) after start-up and
 one job; peak RSS: VmHWM after $jobs more jobs at window $window; jobs/s of that run)" ;;
  exec)
    header="variant	baseline	jobs/s	jobs/s range	vs baseline (runs)	CPU us/job	CPU range	vs baseline (runs)	of which children	p50 ms	p99 ms"
    cells='row([val("jobs_per_s"; 0), range("jobs_per_s"; 0), vs("jobs_per_s"), val("cpu_us_per_job"; 1),
      range("cpu_us_per_job"; 1), vs("cpu_us_per_job"), val("children_cpu_us_per_job"; 1),
      (.median_run.p50_ms | fmt(3)), (.median_run.p99_ms | fmt(3))] + io)'
    legend="(medians over $repeat interleaved run(s); $workers workers / launcher threads; CPU us/job is user+system of
 the process, all threads, plus its reaped children (/bin/true), in the measured window, per job; p50/p99 are
 edgerund's median-jobs/s run's, publish -> terminal status)" ;;
esac
echo
{
  echo "$header$io_header"
  jq -L "$script_dir" -r "$table_jq $cells" "$summary"
} | awk -F'\t' -v left=2 -f "$script_dir/md_table.awk"
echo "$legend"
echo "($io_legend)"
jq -r 'select(.note != "") | "\(.variant): not run (\(.note))"' "$summary"

status=0
for v in "${variants[@]}"; do
  if [[ -n ${failures[$v]:-} ]]; then
    status=1
    echo "run.sh: $v failed in ${failures[$v]} of $repeat run(s); see above" >&2
  fi
done
exit "$status"
