// The QoS class as Kubernetes' ComputePodQOS (pkg/apis/core/helper/qos)
// works it out: over all containers, init containers included, sum the
// positive cpu and memory requests and limits. No request or limit at all is
// BestEffort. Guaranteed needs every container to limit both cpu and memory
// and the summed requests to equal the summed limits, resource by resource;
// anything else is Burstable. Requests default to limits
// (apply_pod_defaults), so a pod that only sets limits is Guaranteed.
#include <cstdint>

#include "pods/pod.hpp"

namespace deckhand::pods {
namespace {

struct Sums {
  std::optional<int64_t> cpu;
  std::optional<int64_t> memory;
};

// Adds a positive amount; zero or negative ones do not count, as there. The
// sum saturates (a manifest's amounts may add up past int64).
void add(const std::optional<int64_t>& amount, std::optional<int64_t>& sum) {
  if (!amount || *amount <= 0) return;
  int64_t total = 0;
  if (__builtin_add_overflow(sum.value_or(0), *amount, &total)) total = INT64_MAX;
  sum = total;
}

void add(const ResourceList& list, Sums& sums) {
  add(list.cpu_millis, sums.cpu);
  add(list.memory_bytes, sums.memory);
}

}  // namespace

QosClass qos_class(const PodSpec& spec) {
  Sums requests;
  Sums limits;
  bool guaranteed = true;
  for (const std::vector<Container>* list : {&spec.containers, &spec.init_containers}) {
    for (const Container& container : *list) {
      add(container.resources.requests, requests);
      add(container.resources.limits, limits);
      const ResourceList& own = container.resources.limits;
      const bool limits_both = own.cpu_millis.value_or(0) > 0 && own.memory_bytes.value_or(0) > 0;
      if (!limits_both) guaranteed = false;
    }
  }
  if (!requests.cpu && !requests.memory && !limits.cpu && !limits.memory) return QosClass::best_effort;
  // Every request must meet an equal limit, and there must be as many
  // resources requested as limited.
  const auto matches = [](const std::optional<int64_t>& request, const std::optional<int64_t>& limit) {
    return !request || (limit && *limit == *request);
  };
  guaranteed = guaranteed && matches(requests.cpu, limits.cpu) && matches(requests.memory, limits.memory);
  const int requested = int{requests.cpu.has_value()} + int{requests.memory.has_value()};
  const int limited = int{limits.cpu.has_value()} + int{limits.memory.has_value()};
  return guaranteed && requested == limited ? QosClass::guaranteed : QosClass::burstable;
}

const char* to_string(QosClass qos) {
  switch (qos) {
    case QosClass::guaranteed: return "Guaranteed";
    case QosClass::burstable: return "Burstable";
    case QosClass::best_effort: return "BestEffort";
  }
  return "";
}

}  // namespace deckhand::pods
