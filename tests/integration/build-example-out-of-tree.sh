#!/usr/bin/env bash
# build-example-out-of-tree.sh PREFIX WORKDIR
#
# Builds the SDK's example plugin (sdk/examples/dirstore) exactly as a vendor
# would: out of tree, against the SDK installed at PREFIX, with nothing from
# the deckhand source tree but the example's own directory. Then runs the
# installed symbol checker on the result. Warnings are errors: the example is
# meant to build cleanly.
#
# The build goes to WORKDIR/build. Progress goes to standard error; the last
# line of standard output is the absolute path of the built plugin.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 PREFIX WORKDIR" >&2
  exit 2
fi

prefix=$(cd "$1" && pwd)
mkdir -p "$2"
workdir=$(cd "$2" && pwd)
example=$(cd "$(dirname "$0")/../../sdk/examples/dirstore" && pwd)
build="$workdir/build"
check="$prefix/bin/deckhand-plugin-check"

if [[ ! -x "$check" ]]; then
  echo "$0: $check not found: is the SDK installed at $prefix?" >&2
  exit 1
fi

# A fresh build directory, so a stale cache cannot hide a packaging problem.
rm -rf "$build"

echo "== configuring $example against $prefix" >&2
cmake -S "$example" -B "$build" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_COMPILE_WARNING_AS_ERROR=ON \
  >&2

echo "== building" >&2
cmake --build "$build" --parallel >&2

so="$build/libdeckhand-dirstore.so"
if [[ ! -f "$so" ]]; then
  echo "$0: the build did not produce $so" >&2
  exit 1
fi

echo "== checking exported symbols" >&2
"$check" "$so" >&2

echo "$so"
