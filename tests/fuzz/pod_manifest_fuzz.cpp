// libFuzzer target: pod manifests (YAML or JSON text, as a manifest directory
// may hold anything) through parse_manifest, then each pod through
// validate_pod, the QoS class, pod_to_json and back through parse_pod. The
// only acceptable outcomes are pods or a ManifestError; any other exception
// (nlohmann's type_error, yaml-cpp's), crash, leak, sanitizer report or a pod
// that does not read back equal is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pods/pod_parse.hpp"
#include "pods/pod_validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace pods = deckhand::pods;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    for (const pods::Pod& pod : pods::parse_manifest(text, "fuzz.yaml")) {
      pods::invalid_pod_message(pod, pods::validate_pod(pod));
      pods::qos_class(pod.spec);
      if (pods::parse_pod(pods::pod_to_json(pod)) != pod) std::abort();
    }
  } catch (const pods::ManifestError&) {
    // expected for most inputs
  }
  return 0;
}
