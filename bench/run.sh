#!/usr/bin/env bash
# Runs the agent benchmark, then the pod benchmark, against an installed
# deckhand. Builds nothing.
#
#   bench/run.sh PREFIX [BUILD_DIR] [benchmark flags...]
#
# PREFIX     install prefix holding bin/deckhand and lib/deckhand/plugins
# BUILD_DIR  build tree holding bench/deckhand-bench-agent (default ./build)
# Any further arguments (those starting with "-") go to the agent benchmark;
# --quick also to the pod benchmark, e.g. bench/run.sh /opt/deckhand --quick
set -euo pipefail

usage() {
  sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
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

status=0
"$bench_bin" --agent "$agent" "$@" || status=$?

# The pod benchmark (root only: namespaces, cgroups, mounts). It exits 1
# when pods leaked something, never on a missed latency goal.
pod_bin=$build_dir/bench/deckhand-bench-pods
if [ ! -x "$pod_bin" ]; then
  echo "run.sh: $pod_bin not built; skipping the pod benchmark" >&2
elif [ "$(id -u)" -ne 0 ]; then
  echo "run.sh: the pod benchmark needs root; skipping it" >&2
else
  pod_flags=()
  for arg in "$@"; do
    [ "$arg" = --quick ] && pod_flags+=(--quick)
  done
  pod_status=0
  "$pod_bin" --deckhand "$agent" "${pod_flags[@]}" || pod_status=$?
  [ "$status" -ne 0 ] || status=$pod_status
fi
exit "$status"
