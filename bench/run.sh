#!/usr/bin/env bash
# Runs the agent benchmark against an installed deckhand. Builds nothing.
#
#   bench/run.sh PREFIX [BUILD_DIR] [benchmark flags...]
#
# PREFIX     install prefix holding bin/deckhand and lib/deckhand/plugins
# BUILD_DIR  build tree holding bench/deckhand-bench-agent (default ./build)
# Any further arguments (those starting with "-") go to the benchmark,
# e.g. bench/run.sh /opt/deckhand --quick
set -euo pipefail

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "$0" >&2
  exit "${1:-2}"
}

[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage 0 ;; esac

prefix=$1
shift
build_dir=./build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  build_dir=$1
  shift
fi

bench_bin=$build_dir/bench/deckhand-bench-agent
agent=$prefix/bin/deckhand

if [ ! -x "$bench_bin" ]; then
  echo "run.sh: $bench_bin not found; build it first:" >&2
  echo "  cmake --build $build_dir --target deckhand-bench-agent" >&2
  exit 2
fi
if [ ! -x "$agent" ]; then
  echo "run.sh: $agent not found or not executable; install first:" >&2
  echo "  cmake --install $build_dir --prefix $prefix" >&2
  exit 2
fi

exec "$bench_bin" --agent "$agent" "$@"
