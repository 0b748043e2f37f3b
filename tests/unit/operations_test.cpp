// find_operation and the operation names per kind: how the agent reads a
// plugin's ops table, which may be older (shorter) than the agent's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>

#include "plugins/operations.hpp"

namespace deckhand {
namespace {

using ::testing::ElementsAre;

int32_t op_a(dh_instance*, dh_call*, const char*) { return 101; }
int32_t op_b(dh_instance*, dh_call*, const char*) { return 102; }
int32_t op_c(dh_instance*, dh_call*, const char*) { return 103; }

TEST(FindOperation, FullStorageTableFindsEachEntry) {
  dh_storage_ops ops{};
  ops.struct_size = sizeof ops;
  ops.pull_image = op_a;
  ops.list_images = op_b;
  ops.release_volume = op_c;
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "pull_image"), &op_a);
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "list_images"), &op_b);
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "release_volume"), &op_c);
  // A NULL entry is "not offered".
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "image_status"), nullptr);
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "prepare_rootfs"), nullptr);
}

TEST(FindOperation, OlderShorterTableHidesLaterEntries) {
  // An "older plugin": its table covers only pull_image and image_status. The
  // memory behind it holds pointers, but the agent must not read them.
  dh_storage_ops ops{};
  ops.struct_size = static_cast<uint32_t>(offsetof(dh_storage_ops, image_status) + sizeof(dh_op_fn));
  ops.pull_image = op_a;
  ops.image_status = op_b;
  ops.list_images = op_c;
  ops.remove_image = op_c;
  ops.release_volume = op_c;
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "pull_image"), &op_a);
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "image_status"), &op_b);
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "list_images"), nullptr);
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "remove_image"), nullptr);
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "release_volume"), nullptr);
}

TEST(FindOperation, TableEndingMidPointerHidesThatEntry) {
  dh_storage_ops ops{};
  // One byte short of holding image_status.
  ops.struct_size = static_cast<uint32_t>(offsetof(dh_storage_ops, image_status) + sizeof(dh_op_fn) - 1);
  ops.pull_image = op_a;
  ops.image_status = op_b;
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "pull_image"), &op_a);
  EXPECT_EQ(find_operation(DH_KIND_STORAGE, &ops, "image_status"), nullptr);
}

TEST(FindOperation, HeaderOnlyTableHasNothing) {
  dh_network_ops ops{};
  ops.struct_size = 2 * sizeof(uint32_t);
  ops.attach = op_a;
  EXPECT_EQ(find_operation(DH_KIND_NETWORK, &ops, "attach"), nullptr);
}

TEST(FindOperation, NullEntryIsNull) {
  dh_network_ops ops{};
  ops.struct_size = sizeof ops;
  ops.check = op_a;
  EXPECT_EQ(find_operation(DH_KIND_NETWORK, &ops, "attach"), nullptr);
  EXPECT_EQ(find_operation(DH_KIND_NETWORK, &ops, "check"), &op_a);
}

TEST(FindOperation, UnknownKindOrOperationOrNullTable) {
  dh_runtime_ops ops{};
  ops.struct_size = sizeof ops;
  ops.create = op_a;
  EXPECT_EQ(find_operation(DH_KIND_RUNTIME, &ops, "create"), &op_a);
  EXPECT_EQ(find_operation(99, &ops, "create"), nullptr);
  EXPECT_EQ(find_operation(0, &ops, "create"), nullptr);
  EXPECT_EQ(find_operation(DH_KIND_RUNTIME, &ops, "nonsense"), nullptr);
  EXPECT_EQ(find_operation(DH_KIND_RUNTIME, &ops, ""), nullptr);
  EXPECT_EQ(find_operation(DH_KIND_RUNTIME, nullptr, "create"), nullptr);
  // An operation of another kind, at an offset inside this table, is not found.
  EXPECT_EQ(find_operation(DH_KIND_RUNTIME, &ops, "attach"), nullptr);
}

TEST(FindOperation, KindSelectsTheLayout) {
  // The same table read as another kind: names map to that kind's offsets.
  dh_network_ops ops{};
  ops.struct_size = sizeof ops;
  ops.attach = op_a;  // first slot
  ops.detach = op_b;  // second slot
  EXPECT_EQ(find_operation(DH_KIND_NETWORK, &ops, "attach"), &op_a);
  EXPECT_EQ(find_operation(DH_KIND_NETWORK, &ops, "detach"), &op_b);
}

TEST(FindOperation, EveryRuntimeSlotAtItsOffset) {
  dh_runtime_ops ops{};
  ops.struct_size = sizeof ops;
  ops.create = op_a;
  ops.start = op_b;
  ops.state = op_c;
  ops.kill = op_a;
  ops.remove = op_b;
  ops.wait = op_c;
  ops.exec = op_a;
  ops.stats = op_b;
  ops.list = op_c;
  ops.create_sandbox = op_a;
  ops.remove_sandbox = op_b;
  ops.list_sandboxes = op_c;
  ops.default_spec = op_a;
  const dh_op_fn expected[] = {op_a, op_b, op_c, op_a, op_b, op_c, op_a, op_b, op_c, op_a, op_b, op_c, op_a};
  const auto names = operation_names(DH_KIND_RUNTIME);
  ASSERT_EQ(names.size(), 13u);
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(find_operation(DH_KIND_RUNTIME, &ops, names[i]), expected[i]) << names[i];
  }
}

TEST(KindName, KnownAndUnknown) {
  EXPECT_EQ(kind_name(DH_KIND_RUNTIME), "runtime");
  EXPECT_EQ(kind_name(DH_KIND_NETWORK), "network");
  EXPECT_EQ(kind_name(DH_KIND_STORAGE), "storage");
  EXPECT_EQ(kind_name(0), "unknown(0)");
  EXPECT_EQ(kind_name(4), "unknown(4)");
  EXPECT_EQ(kind_name(-1), "unknown(-1)");
}

TEST(OperationNames, EachKindInTableOrder) {
  EXPECT_THAT(operation_names(DH_KIND_RUNTIME),
              ElementsAre("create", "start", "state", "kill", "remove", "wait", "exec", "stats", "list",
                          "create_sandbox", "remove_sandbox", "list_sandboxes", "default_spec"));
  EXPECT_THAT(operation_names(DH_KIND_NETWORK),
              ElementsAre("attach", "detach", "check", "set_node_routes", "sync_services", "update_service",
                          "delete_service"));
  EXPECT_THAT(operation_names(DH_KIND_STORAGE),
              ElementsAre("pull_image", "image_status", "list_images", "remove_image", "prepare_rootfs",
                          "release_rootfs", "prepare_volume", "release_volume", "load_image",
                          "prune_images", "project_volume"));
  EXPECT_TRUE(operation_names(42).empty());
}

TEST(OperationNames, MatchTheAbiTableSizes) {
  const std::size_t header = 2 * sizeof(uint32_t);
  EXPECT_EQ(operation_names(DH_KIND_RUNTIME).size(), (sizeof(dh_runtime_ops) - header) / sizeof(dh_op_fn));
  EXPECT_EQ(operation_names(DH_KIND_NETWORK).size(), (sizeof(dh_network_ops) - header) / sizeof(dh_op_fn));
  EXPECT_EQ(operation_names(DH_KIND_STORAGE).size(), (sizeof(dh_storage_ops) - header) / sizeof(dh_op_fn));
}

TEST(IsKnownOperation, PerKind) {
  EXPECT_TRUE(is_known_operation(DH_KIND_NETWORK, "detach"));
  EXPECT_FALSE(is_known_operation(DH_KIND_NETWORK, "pull_image"));
  EXPECT_TRUE(is_known_operation(DH_KIND_STORAGE, "pull_image"));
  EXPECT_TRUE(is_known_operation(DH_KIND_RUNTIME, "list"));
  EXPECT_FALSE(is_known_operation(DH_KIND_RUNTIME, "list_images"));
  EXPECT_FALSE(is_known_operation(7, "list"));
}

}  // namespace
}  // namespace deckhand
