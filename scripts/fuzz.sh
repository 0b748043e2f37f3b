#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time
# (FUZZ_SECONDS, default 30) from its seed corpus. Exits non-zero on a crash,
# leaving the reproducer in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DDECKHAND_FUZZ=ON -DDECKHAND_BUILD_TESTS=OFF -DDECKHAND_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target config_fuzz oci_spec_fuzz reference_fuzz manifest_fuzz layer_unpack_fuzz \
  registry_auth_fuzz pod_quantity_selector_fuzz pod_manifest_fuzz
targets=(config oci_spec reference manifest layer_unpack registry_auth pod_quantity_selector pod_manifest)
for target in "${targets[@]}"; do mkdir -p build-fuzz/corpus/$target; done
mkdir -p build-fuzz/artifacts
# The agent's config file, a bundle's config.json (with its seccomp section),
# image references, registry manifests and configs, layer tarballs, and
# WWW-Authenticate challenges and Docker auth files, pod quantities and
# label selectors, and pod manifests.
for target in "${targets[@]}"; do
  max_len=4096
  [ "$target" = oci_spec ] && max_len=32768  # the seed RuntimeDefault spec is 17 KB
  [ "$target" = layer_unpack ] && max_len=65536  # seed tarballs with several entries
  echo "== fuzz ${target} for ${seconds}s"
  build-fuzz/tests/fuzz/${target}_fuzz -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix=build-fuzz/artifacts/ -max_len="$max_len" \
    build-fuzz/corpus/${target} tests/fuzz/corpus/${target} 2>&1 | tail -n 12
done
