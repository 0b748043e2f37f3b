// apply_pod_defaults: what the API server's defaulting (pkg/apis/core/v1
// defaults.go, SetDefaults_Pod, _PodSpec, _Container, _ContainerPort) fills
// in for the fields deckhand has, so a pod from a file runs as the same pod
// created through an API server would.
#include <string_view>

#include "pods/pod_parse.hpp"

namespace deckhand::pods {
namespace {

// The image's tag as Kubernetes' parsers.ParseImageName finds it, for the
// pull policy only: "latest" when the reference names neither a tag nor a
// digest. The tag follows the last ':' of the last path component (a ':' in
// an earlier component is a registry port); a digest follows '@'. A
// reference Kubernetes cannot parse (empty, or with whitespace or capitals
// in its name) has no tag, which makes IfNotPresent, as there.
std::string_view image_tag(std::string_view image) {
  const std::size_t at = image.find('@');
  const bool digest = at != std::string_view::npos;
  const std::string_view name = digest ? image.substr(0, at) : image;
  const std::size_t slash = name.rfind('/');
  const std::size_t colon = name.rfind(':');
  const bool tagged = colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
  const std::string_view repository = tagged ? name.substr(0, colon) : name;
  if (repository.empty() || repository.find_first_of(" \t\nABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos) {
    return "";
  }
  if (tagged) return name.substr(colon + 1);
  return digest ? "" : "latest";
}

void default_container(Container& container, bool host_network) {
  if (!container.image_pull_policy) {
    const bool latest = image_tag(container.image) == "latest";
    container.image_pull_policy = latest ? PullPolicy::always : PullPolicy::if_not_present;
  }
  // A limit without a request requests the limit (SetDefaults_Pod).
  ResourceList& requests = container.resources.requests;
  const ResourceList& limits = container.resources.limits;
  if (!requests.cpu_millis) requests.cpu_millis = limits.cpu_millis;
  if (!requests.memory_bytes) requests.memory_bytes = limits.memory_bytes;
  // On the host's network a port is published where it listens.
  if (host_network) {
    for (ContainerPort& port : container.ports) {
      if (port.host_port == 0) port.host_port = port.container_port;
    }
  }
}

}  // namespace

void apply_pod_defaults(Pod& pod) {
  if (pod.metadata.namespace_.empty()) pod.metadata.namespace_ = "default";
  PodSpec& spec = pod.spec;
  if (!spec.termination_grace_period_seconds) spec.termination_grace_period_seconds = 30;
  for (Container& container : spec.init_containers) default_container(container, spec.host_network);
  for (Container& container : spec.containers) default_container(container, spec.host_network);
  // restartPolicy (Always) and protocol (TCP) are the model's own defaults:
  // an empty or absent value in the manifest already parsed to them.
}

}  // namespace deckhand::pods
