#!/usr/bin/env bash
# Instructions the loop thread, and the pool's workers, execute per job,
# counted by callgrind (exact, unlike timings on a shared machine), for
# edgerun and for uv_queue_work: the figures of tools/bench/README.md.
#
#   tools/bench/loop_instructions.sh [build-dir]   (default build/bench)
#
# Runs edgerun_post_from_loop and uv_queue_work with 2 workers and B = 1000
# under valgrind --tool=callgrind with one output file per thread, takes the
# thread that ran the loop and divides its instructions by the number of
# jobs it posted (calls of Runtime::submit, of uv_queue_work); then the same
# for the pool's two worker threads together. Needs valgrind (Debian:
# valgrind); the build is the README's bench build.
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
bench_env loop_instructions "${1:-build/bench}" valgrind python3

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# count VARIANT LOOP_FUNCTION POSTING_FUNCTION
count() {
  rm -f "$out"/cg*
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg" \
    "$bench" --workers=2 --benchmark_filter="^$1/workers:2/batch:1000/" \
    --benchmark_min_time=0.05 >/dev/null 2>&1
  python3 "$bench_dir/loop_instructions.py" "$out" "$@"
}

count edgerun_post_from_loop "Runtime::Impl::run()" "edgerun::Runtime::submit(edgerun::JobRequest const&)" \
  "Runtime::Impl::worker_main"
# libuv's worker function is static (no symbol); its threads are the ones
# that wait on uv_cond_wait.
count uv_queue_work "UvPool::on_poke" "uv_queue_work" "uv_cond_wait"
