# Sourced by the bench scripts: moves to the repository's root and checks
# for the benchmark binary and the commands a script needs, stopping with a
# message that says what to do otherwise.
#
#   bench_env NAME BUILD_DIR [COMMAND...]
#
# Sets $bench_dir (this folder) and $bench (the edgerun_pool_bench binary).
bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$bench_dir/../.."

bench_env() {
  local name=$1 build=$2
  shift 2
  bench="$build/tools/bench/edgerun_pool_bench"
  [ -x "$bench" ] || { echo "$name: build $bench first (see tools/bench/README.md)" >&2; exit 2; }
  local command
  for command in "$@"; do
    command -v "$command" >/dev/null || { echo "$name: needs $command (tools/setup installs it)" >&2; exit 2; }
  done
}
