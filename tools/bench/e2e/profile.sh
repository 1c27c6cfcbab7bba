#!/usr/bin/env bash
# Where edgerund's CPU and memory go, for the figures of tools/bench/README.md
# ("Where the CPU goes", "Memory"): one edgerund on a private mosquitto, jobs
# from edgerun_e2e_bench at window 64, and one of
#   --strace      system calls per job: strace -c -f over the measured jobs
#   --perf FILE   perf record -g over the measured jobs into FILE; then
#                 perf report -i FILE --no-children --sort dso
#   --memory-map  Private_Dirty of each mapping after start and one job, at
#                 the gateway defaults (config/edgerun.json)
#
# usage: tools/bench/e2e/profile.sh (--strace | --perf FILE | --memory-map)
#          [--build-dir DIR] [--edgerund PATH] [--jobs N] [--type T] [--params JSON]
#          [--progress]
# The broker and the config are run.sh's (devices.sh): the bench config with
# jobs.report_progress false (--progress: true), or for --memory-map the
# gateway defaults. --type sleep --params '{"ms":0}'
# profiles a job that runs on a worker. Needs strace or perf (linux-perf) for
# those modes, jq, python3 and mosquitto. Without an explicit $MOSQUITTO,
# /usr/sbin/mosquitto.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/../../.." && pwd)
die() { echo "profile.sh: $*" >&2; exit 64; }

mode="" perf_out="" build_dir="$repo/build/bench" edgerund="" jobs=5000 type=echo params="" progress=false
while (($#)); do
  case $1 in
    --strace) mode=strace; shift ;;
    --perf) mode=perf; perf_out=${2:?}; shift 2 ;;
    --memory-map) mode=memory; shift ;;
    --build-dir) build_dir=${2:?}; shift 2 ;;
    --edgerund) edgerund=${2:?}; shift 2 ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    --type) type=${2:?}; shift 2 ;;
    --params) params=${2:?}; shift 2 ;;
    --progress) progress=true; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[[ -n $mode ]] || die "choose --strace, --perf FILE or --memory-map"
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then die "--jobs must be a positive number"; fi
: "${edgerund:=$build_dir/core/daemon/edgerund}"
bench="$build_dir/tools/bench/e2e/edgerun_e2e_bench"
for b in "$edgerund" "$bench"; do [[ -x $b ]] || die "$b is missing; build edgerund and edgerun_e2e_bench"; done
[[ $mode != strace ]] || command -v strace >/dev/null || die "strace is not installed"
[[ $mode != perf ]] || command -v perf >/dev/null || die "perf is not installed (linux-perf)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgerun-profile.XXXXXX")
pids=()
cleanup() {
  local p
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# The broker and edgerund's config as run.sh makes them (devices.sh).
script_name=profile.sh
mosquitto_bin=${MOSQUITTO:-/usr/sbin/mosquitto}
broker_nodelay=true
window=64 queue_capacity="" workers="" max_payload_bytes=""
gateway_config="$repo/config/edgerun.json"
# shellcheck source=tools/bench/e2e/devices.sh
source "$script_dir/devices.sh"
start_broker "$tmp/broker" || exit 1
if [[ $mode == memory ]]; then
  variant="edgerund-gateway"
elif [[ $progress == true ]]; then
  variant="edgerund-progress"
else
  variant="edgerund-noprogress"
fi
write_edgerund_config "$variant" "$tmp"
"$edgerund" --config "$tmp/edgerun.json" >"$tmp/edgerund.out" 2>&1 &
device_pid=$!
pids+=("$device_pid")

job_args=(--type "$type")
[[ -z $params ]] || job_args+=(--params "$params")
# Runs the bench: $1 jobs at window $2 (waits, bounded, for the device's
# online presence first).
run_bench() {
  "$bench" --url "mqtt://127.0.0.1:$port" --device bench-01 --jobs "$1" --window "$2" --warmup 0 \
    --wait-online --online-timeout-s 10 --timeout-s 300 --device-pid "$device_pid" "${job_args[@]}" --json
}

if [[ $mode == memory ]]; then
  run_bench 1 1 >/dev/null
  awk '$1 == "Private_Dirty:" { print "Private_Dirty (all mappings):", $2, "KiB" }' "/proc/$device_pid/smaps_rollup"
  echo "KiB  mapping (Private_Dirty > 0, largest first)"
  awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "") ? "[anon " $1 "]" : $6 }
       /^Private_Dirty:/ { if ($2 > 0) printf "%4d %s\n", $2, name }' "/proc/$device_pid/smaps" | sort -rn
  exit 0
fi

# A warm-up outside the measurement: connections, arenas and caches settle.
run_bench 1000 64 >/dev/null
case $mode in
  strace) strace -c -f -p "$device_pid" -o "$tmp/strace.txt" & ;;
  perf) perf record -F 4000 -g -p "$device_pid" -o "$perf_out" 2>"$tmp/perf.err" & ;;
esac
tracer=$!
sleep 0.5  # Let the tracer attach; a job it misses only thins the sample.
run_bench "$jobs" 64 | jq -c '{jobs, jobs_per_s, cpu_us_per_job, non_succeeded}'
kill -INT "$tracer"
wait "$tracer" || true
if [[ $mode == strace ]]; then
  echo "per job over $jobs jobs:"
  awk -v n="$jobs" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ {
      errors = ($5 ~ /^[0-9]+$/) ? $5 : 0
      printf "%-14s %6.2f calls (%.2f failing)\n", $NF, $4 / n, errors / n }' "$tmp/strace.txt"
else
  echo "perf data in $perf_out; e.g. perf report -i $perf_out --no-children --sort dso --stdio -g none"
fi
