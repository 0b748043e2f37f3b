// parse_manifest: a manifest file's text to pods. The text's documents
// (manifest_documents.hpp, which bounds hostile text) are each a Pod or a v1
// List of Pods; at most 1000 pods in all.
#include <string>
#include <string_view>
#include <vector>

#include "pods/json_fields.hpp"
#include "pods/manifest_documents.hpp"
#include "pods/pod_parse.hpp"

namespace deckhand::pods {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxPods = 1000;

void add_pod(const json& object, std::vector<Pod>& pods) {
  if (pods.size() == kMaxPods) {
    throw ManifestError("more than " + std::to_string(kMaxPods) + " pods; a manifest may hold at most " +
                        std::to_string(kMaxPods));
  }
  pods.push_back(parse_pod(object));
}

// The pods of one document: a Pod, or a List (`kubectl get pods -o yaml`
// prints one) of Pods.
void add_pods(const json& document, std::vector<Pod>& pods) {
  if (!document.is_object()) throw ManifestError("must be an object: a Pod, or a List of Pods");
  const auto kind = document.find("kind");
  const bool list = kind != document.end() && kind->is_string() && (*kind == "List" || *kind == "PodList");
  if (!list) return add_pod(document, pods);
  const json_fields::Object object(document, "", {"apiVersion", "kind", "items"}, {"metadata"});
  if (const std::string version = object.string("apiVersion"); version != "v1") {
    json_fields::fail("apiVersion", json_fields::unsupported_value(version, {"v1"}));
  }
  for (const auto& [item, path] : object.elements("items")) {
    try {
      add_pod(*item, pods);
    } catch (const ManifestError& e) {
      throw ManifestError(path + ": " + e.what());
    }
  }
}

}  // namespace

std::vector<Pod> parse_manifest(std::string_view text, const std::string& source) {
  try {
    const std::vector<json> documents = manifest_documents(text);
    std::vector<Pod> pods;
    for (std::size_t i = 0; i < documents.size(); ++i) {
      if (documents[i].is_null()) continue;  // an empty document, or only comments
      try {
        add_pods(documents[i], pods);
      } catch (const ManifestError& e) {
        throw ManifestError("document " + std::to_string(i + 1) + ": " + e.what());
      }
    }
    for (Pod& pod : pods) apply_pod_defaults(pod);
    return pods;
  } catch (const ManifestError& e) {
    throw ManifestError(source + ": " + e.what());
  }
}

}  // namespace deckhand::pods
