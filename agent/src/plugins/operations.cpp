#include "plugins/operations.hpp"

#include <cstddef>
#include <cstring>

namespace deckhand {
namespace {

struct Slot {
  const char* name;
  std::size_t offset;
};

#define DH_SLOT(type, member) Slot{#member, offsetof(type, member)}

const std::vector<Slot>& slots(int32_t kind) {
  static const std::vector<Slot> runtime = {
      DH_SLOT(dh_runtime_ops, create), DH_SLOT(dh_runtime_ops, start), DH_SLOT(dh_runtime_ops, state),
      DH_SLOT(dh_runtime_ops, kill),   DH_SLOT(dh_runtime_ops, remove), DH_SLOT(dh_runtime_ops, wait),
      DH_SLOT(dh_runtime_ops, exec),   DH_SLOT(dh_runtime_ops, stats), DH_SLOT(dh_runtime_ops, list),
      DH_SLOT(dh_runtime_ops, create_sandbox), DH_SLOT(dh_runtime_ops, remove_sandbox),
      DH_SLOT(dh_runtime_ops, list_sandboxes), DH_SLOT(dh_runtime_ops, default_spec)};
  static const std::vector<Slot> network = {
      DH_SLOT(dh_network_ops, attach),          DH_SLOT(dh_network_ops, detach),
      DH_SLOT(dh_network_ops, check),           DH_SLOT(dh_network_ops, set_node_routes),
      DH_SLOT(dh_network_ops, sync_services),   DH_SLOT(dh_network_ops, update_service),
      DH_SLOT(dh_network_ops, delete_service)};
  static const std::vector<Slot> storage = {
      DH_SLOT(dh_storage_ops, pull_image),     DH_SLOT(dh_storage_ops, image_status),
      DH_SLOT(dh_storage_ops, list_images),    DH_SLOT(dh_storage_ops, remove_image),
      DH_SLOT(dh_storage_ops, prepare_rootfs), DH_SLOT(dh_storage_ops, release_rootfs),
      DH_SLOT(dh_storage_ops, prepare_volume), DH_SLOT(dh_storage_ops, release_volume),
      DH_SLOT(dh_storage_ops, load_image),     DH_SLOT(dh_storage_ops, prune_images),
      DH_SLOT(dh_storage_ops, project_volume)};
  static const std::vector<Slot> none;
  switch (kind) {
    case DH_KIND_RUNTIME: return runtime;
    case DH_KIND_NETWORK: return network;
    case DH_KIND_STORAGE: return storage;
    default: return none;
  }
}

#undef DH_SLOT

}  // namespace

std::string kind_name(int32_t kind) {
  switch (kind) {
    case DH_KIND_RUNTIME: return "runtime";
    case DH_KIND_NETWORK: return "network";
    case DH_KIND_STORAGE: return "storage";
    default: return "unknown(" + std::to_string(kind) + ")";
  }
}

std::vector<std::string> operation_names(int32_t kind) {
  std::vector<std::string> names;
  for (const Slot& slot : slots(kind)) names.emplace_back(slot.name);
  return names;
}

bool is_known_operation(int32_t kind, const std::string& operation) {
  for (const Slot& slot : slots(kind)) {
    if (operation == slot.name) return true;
  }
  return false;
}

dh_op_fn find_operation(int32_t kind, const void* ops, const std::string& operation) {
  if (ops == nullptr) return nullptr;
  // Every ops table starts with its own size (uint32_t), as the plugin built it.
  uint32_t table_size = 0;
  std::memcpy(&table_size, ops, sizeof(table_size));
  for (const Slot& slot : slots(kind)) {
    if (operation != slot.name) continue;
    if (slot.offset + sizeof(dh_op_fn) > table_size) return nullptr;  // older, shorter table
    dh_op_fn function = nullptr;
    std::memcpy(&function, static_cast<const char*>(ops) + slot.offset, sizeof(function));
    return function;
  }
  return nullptr;
}

}  // namespace deckhand
