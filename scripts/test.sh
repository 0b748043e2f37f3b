#!/usr/bin/env bash
# Sets up everything and runs deckhand's whole test suite (README's second
# command; .ci/run calls it):
#   1. installs dependencies from Debian's packages,
#   2. builds with -Wall -Wextra -Werror under ASan+UBSan and runs the unit tests,
#   3. fuzzes the parsers for a bounded time (clang + libFuzzer),
#   4. builds the release configuration with -Werror, prints the agent
#      benchmark's figures, and runs every test (unit, SDK contract,
#      integration against a staged install),
# ending with ctest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/install-deps.sh

echo "== sanitizer build (ASan+UBSan): unit tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDECKHAND_SANITIZE=ON -DDECKHAND_WERROR=ON \
  -DDECKHAND_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs"

echo "== fuzzing the parsers (libFuzzer, bounded)"
FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/fuzz.sh

echo "== release build: the whole suite"
cmake -S . -B build -DDECKHAND_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
cmake --install build --prefix build/stage >/dev/null

echo "== benchmark: agent start, memory, /metrics scrapes (figures, not pass/fail)"
build/bench/deckhand-bench-agent --agent build/stage/bin/deckhand
echo "== benchmark: container lifecycle, deckhand oci run vs runc run (figures)"
build/bench/deckhand-bench-runtime --deckhand build/stage/bin/deckhand --runs 50
echo "== benchmark: image pull, deckhand vs containerd (figures)"
build/bench/deckhand-bench-storage --deckhand build/stage/bin/deckhand --runs 5
echo "== benchmark: pod network attach, deckhand vs the CNI bridge plugin (figures)"
build/bench/deckhand-bench-network --deckhand build/stage/bin/deckhand --runs 100
echo "== benchmark: pod start latency (100 networked pods) and churn (500 pods, leak check)"
build/bench/deckhand-bench-pods --deckhand build/stage/bin/deckhand

echo "== the whole suite"
ctest --test-dir build --output-on-failure -j"$jobs"
