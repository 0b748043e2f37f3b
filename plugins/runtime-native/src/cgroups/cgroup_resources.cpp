// Resource value checks shared by the v1 and v2 drivers.
#include <string>

#include "cgroups/cgroup_internal.hpp"

namespace deckhand::runtime::cgroup_detail {

std::optional<int64_t> nonzero(const std::optional<int64_t>& value) {
  if (!value || *value == 0) return std::nullopt;
  return value;
}

std::optional<uint64_t> nonzero(const std::optional<uint64_t>& value) {
  if (!value || *value == 0) return std::nullopt;
  return value;
}

void validate_memory(const Resources& r) {
  const std::optional<int64_t> memory = nonzero(r.memory_limit);
  const std::optional<int64_t> swap = nonzero(r.memory_swap);
  if (memory && *memory < -1) {
    throw CgroupError("invalid memory limit " + std::to_string(*memory) + " (bytes, or -1 for unlimited)");
  }
  if (swap && *swap < -1) {
    throw CgroupError("invalid memory+swap limit " + std::to_string(*swap) + " (bytes, or -1 for unlimited)");
  }
  if (memory && swap && *memory > 0 && *swap > 0 && *swap < *memory) {
    throw CgroupError("memory+swap limit " + std::to_string(*swap) + " is below the memory limit " +
                      std::to_string(*memory));
  }
}

std::string swap_needs_accounting(const Resources& r, const std::string& missing_file) {
  const std::optional<int64_t> memory = nonzero(r.memory_limit);
  const std::optional<int64_t> swap = nonzero(r.memory_swap);
  if (!swap || *swap == -1 || (memory && *swap == *memory)) return "";
  return "memory+swap limit " + std::to_string(*swap) +
         " cannot be applied: swap accounting is disabled on this host (no " + missing_file +
         "); use -1 or a value equal to the memory limit";
}

}  // namespace deckhand::runtime::cgroup_detail
