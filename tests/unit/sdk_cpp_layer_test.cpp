// The SDK's C++ layer (<deckhand/plugin.hpp>) without dlopen: plugin classes
// defined here are turned into descriptors and ops tables by the same
// templates DECKHAND_PLUGIN uses, and driven through the agent's real
// host-services table, CallContext and HostContext.
#include <deckhand/plugin.hpp>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

#include "metrics/metrics.hpp"
#include "plugins/call_context.hpp"

namespace {

namespace sdk = deckhand::sdk;
using sdk::Call;
using sdk::Host;

// ---------------------------------------------------------------- plugins

// A constructor that refuses its config.
class RefusesConfig {
 public:
  explicit RefusesConfig(Host& host) {
    if (host.config_json() == "{}") throw sdk::invalid_argument("config key \"root\" is required");
  }
};

// A constructor that throws something that is not an sdk::Error.
class ConstructorThrowsRuntimeError {
 public:
  explicit ConstructorThrowsRuntimeError(Host&) { throw std::runtime_error("cannot open /dev/thing"); }
};

// A storage plugin with a few operations, each failing in its own way.
class Store {
 public:
  explicit Store(Host& host) : host_(host) {
    calls_ = host.counter("deckhand_store_calls_total", "Calls.");
    host.info("store ready");
  }

  void health(Call&) {
    if (host_.config_json().find("\"sick\"") != std::string::npos) throw sdk::unavailable("backend unreachable");
  }

  // Echoes what the plugin saw: the request, its name, state dir, config, the call's deadline.
  std::string list_images(Call& call, std::string_view request) {
    calls_.add(1);
    return "{\"request\":" + std::string(request) + ",\"name\":\"" + host_.name() + "\",\"state_dir\":\"" +
           host_.state_dir() + "\",\"agent\":\"" + host_.agent_version() + "\",\"deadline\":" +
           std::to_string(call.deadline_ns()) + "}";
  }
  std::string image_status(Call&, std::string_view) { throw std::runtime_error("disk on fire"); }
  std::string pull_image(Call&, std::string_view) { throw std::bad_alloc(); }
  std::string remove_image(Call&, std::string_view) { throw 42; }
  std::string prepare_rootfs(Call&, std::string_view) { throw sdk::not_found("image alpine not found"); }
  std::string release_rootfs(Call& call, std::string_view) {
    call.report_progress("{\"step\":1}");
    call.report_progress("{\"step\":2}");
    return "{}";
  }
  // An Error carrying DH_OK is still a failure.
  std::string prepare_volume(Call&, std::string_view) { throw sdk::Error(DH_OK, "ok, but thrown"); }
  // release_volume is not defined: its entry must be NULL.

 private:
  const Host& host_;
  sdk::Metric calls_;
};

// A network plugin without health, with an operation the SDK must not see.
class Net {
 public:
  explicit Net(Host&) {}
  std::string check(Call&, std::string_view request) { return std::string(request); }

 private:
  // Private: invisible to the SDK.
  std::string detach(Call&, std::string_view) { return "{}"; }
};

// A health check that throws something that is not an Error.
class HealthThrowsInt {
 public:
  explicit HealthThrowsInt(Host&) {}
  void health(Call&) { throw 7; }
};

// ------------------------------------------------------ descriptors, as the macro builds them

constexpr auto kRefusesOps = sdk::detail::storage_ops<RefusesConfig>();
constexpr dh_plugin_descriptor kRefuses = sdk::detail::descriptor<RefusesConfig>(
    sdk::detail::kind_storage, "refuses", "0.1.0", "refuses its config", &kRefusesOps);

constexpr auto kThrowsOps = sdk::detail::runtime_ops<ConstructorThrowsRuntimeError>();
constexpr dh_plugin_descriptor kThrows = sdk::detail::descriptor<ConstructorThrowsRuntimeError>(
    sdk::detail::kind_runtime, "throws", "0.1.0", "throws", &kThrowsOps);

constexpr auto kStoreOps = sdk::detail::storage_ops<Store>();
constexpr dh_plugin_descriptor kStore =
    sdk::detail::descriptor<Store>(sdk::detail::kind_storage, "store", "1.2.3", "a test store", &kStoreOps);

constexpr auto kNetOps = sdk::detail::network_ops<Net>();
constexpr dh_plugin_descriptor kNet =
    sdk::detail::descriptor<Net>(sdk::detail::kind_network, "net", "0.0.1", "a test network", &kNetOps);

constexpr auto kHealthIntOps = sdk::detail::network_ops<HealthThrowsInt>();
constexpr dh_plugin_descriptor kHealthInt = sdk::detail::descriptor<HealthThrowsInt>(
    sdk::detail::kind_network, "healthint", "0.0.1", "health throws an int", &kHealthIntOps);

// ----------------------------------------------------------------- harness

// Creates an instance of a descriptor the way the loader does, with the
// agent's own host services, and destroys it at the end.
class Instance {
 public:
  Instance(const dh_plugin_descriptor& descriptor, const std::string& config_json = "{}")
      : descriptor_(descriptor), config_json_(config_json) {
    host_.plugin_name = descriptor.name;
    host_.state_dir = "/var/lib/deckhand/plugins/" + host_.plugin_name;
    host_.metrics = &metrics_;
    params_.struct_size = sizeof params_;
    params_.abi_major = DH_ABI_MAJOR;
    params_.abi_minor = DH_ABI_MINOR;
    params_.agent_version = "9.8.7";
    params_.name = host_.plugin_name.c_str();
    params_.state_dir = host_.state_dir.c_str();
    params_.config_json = config_json_.c_str();
    params_.host = host_.handle();
    params_.services = &deckhand::host_services();
  }
  ~Instance() {
    if (instance_ != nullptr) descriptor_.destroy(instance_);
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  int32_t create() { return descriptor_.create(&params_, create_call_.handle(), &instance_); }

  // Calls an entry of the ops table on a fresh CallContext.
  int32_t call(dh_op_fn function, const char* request, deckhand::CallContext& context) {
    return function(instance_, context.handle(), request);
  }

  dh_instance* instance() const { return instance_; }
  deckhand::CallContext& create_call() { return create_call_; }
  dh_init_params& params() { return params_; }
  deckhand::Metrics& metrics() { return metrics_; }

 private:
  const dh_plugin_descriptor& descriptor_;
  std::string config_json_;
  deckhand::Metrics metrics_;
  deckhand::HostContext host_;
  dh_init_params params_{};
  deckhand::CallContext create_call_;
  dh_instance* instance_ = nullptr;
};

const dh_storage_ops& store_ops() { return *static_cast<const dh_storage_ops*>(kStore.ops); }

// --------------------------------------------------------------- descriptor

TEST(SdkDescriptor, FrozenPrefix) {
  // Layout first: these offsets may never change in any ABI major.
  EXPECT_EQ(offsetof(dh_plugin_descriptor, magic), 0u);
  EXPECT_EQ(offsetof(dh_plugin_descriptor, struct_size), 4u);
  EXPECT_EQ(offsetof(dh_plugin_descriptor, abi_major), 8u);
  EXPECT_EQ(offsetof(dh_plugin_descriptor, abi_minor), 12u);
  EXPECT_EQ(offsetof(dh_plugin_descriptor, fingerprint), 16u);

  EXPECT_EQ(kStore.magic, DH_DESCRIPTOR_MAGIC);
  EXPECT_EQ(kStore.magic, 0x44484B50u);
  EXPECT_EQ(kStore.struct_size, sizeof(dh_plugin_descriptor));
  EXPECT_EQ(kStore.abi_major, static_cast<uint32_t>(DH_ABI_MAJOR));
  EXPECT_EQ(kStore.abi_minor, static_cast<uint32_t>(DH_ABI_MINOR));
  ASSERT_NE(kStore.fingerprint, nullptr);
  EXPECT_STREQ(kStore.fingerprint, DH_BUILD_FINGERPRINT);
}

TEST(SdkDescriptor, IdentityAndEntries) {
  EXPECT_STREQ(kStore.name, "store");
  EXPECT_EQ(kStore.kind, DH_KIND_STORAGE);
  EXPECT_EQ(kStore.reserved0, 0u);
  EXPECT_STREQ(kStore.version, "1.2.3");
  EXPECT_STREQ(kStore.description, "a test store");
  EXPECT_NE(kStore.create, nullptr);
  EXPECT_NE(kStore.destroy, nullptr);
  EXPECT_EQ(kStore.ops, &kStoreOps);
  EXPECT_EQ(kNet.kind, DH_KIND_NETWORK);
  EXPECT_EQ(kThrows.kind, DH_KIND_RUNTIME);
}

TEST(SdkDescriptor, HealthEntryOnlyWhenTheClassHasOne) {
  EXPECT_NE(kStore.health, nullptr);
  EXPECT_NE(kHealthInt.health, nullptr);
  EXPECT_EQ(kNet.health, nullptr);
  EXPECT_EQ(kRefuses.health, nullptr);
}

// ------------------------------------------------------------------ ops tables

TEST(SdkOpsTable, OnlyTheMethodsTheClassHas) {
  const dh_storage_ops& ops = store_ops();
  EXPECT_EQ(ops.struct_size, sizeof(dh_storage_ops));
  EXPECT_EQ(ops.reserved0, 0u);
  EXPECT_NE(ops.pull_image, nullptr);
  EXPECT_NE(ops.image_status, nullptr);
  EXPECT_NE(ops.list_images, nullptr);
  EXPECT_NE(ops.remove_image, nullptr);
  EXPECT_NE(ops.prepare_rootfs, nullptr);
  EXPECT_NE(ops.release_rootfs, nullptr);
  EXPECT_NE(ops.prepare_volume, nullptr);
  EXPECT_EQ(ops.release_volume, nullptr);
}

TEST(SdkOpsTable, PrivateAndMissingMethodsAreNull) {
  EXPECT_EQ(kNetOps.struct_size, sizeof(dh_network_ops));
  EXPECT_NE(kNetOps.check, nullptr);
  EXPECT_EQ(kNetOps.attach, nullptr);  // not defined
  EXPECT_EQ(kNetOps.detach, nullptr);  // private
  EXPECT_EQ(kNetOps.set_node_routes, nullptr);
  EXPECT_EQ(kNetOps.sync_services, nullptr);
  EXPECT_EQ(kNetOps.update_service, nullptr);
  EXPECT_EQ(kNetOps.delete_service, nullptr);
}

TEST(SdkOpsTable, ClassWithNoOperationsHasAnAllNullTable) {
  EXPECT_EQ(kThrowsOps.struct_size, sizeof(dh_runtime_ops));
  for (dh_op_fn f : {kThrowsOps.create, kThrowsOps.start, kThrowsOps.state, kThrowsOps.kill, kThrowsOps.remove,
                     kThrowsOps.wait, kThrowsOps.exec, kThrowsOps.stats, kThrowsOps.list}) {
    EXPECT_EQ(f, nullptr);
  }
}

// ---------------------------------------------------------------------- create

TEST(SdkCreate, ConstructorErrorBecomesStatusAndMessage) {
  Instance plugin(kRefuses);
  EXPECT_EQ(plugin.create(), DH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(plugin.instance(), nullptr);
  EXPECT_EQ(plugin.create_call().error_status, DH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(plugin.create_call().error_message, "config key \"root\" is required");
}

TEST(SdkCreate, ConstructorSucceedsWithItsConfig) {
  Instance plugin(kRefuses, "{\"root\":\"/srv\"}");
  EXPECT_EQ(plugin.create(), DH_OK);
  EXPECT_NE(plugin.instance(), nullptr);
  EXPECT_EQ(plugin.create_call().error_message, "");
}

TEST(SdkCreate, ConstructorRuntimeErrorIsInternal) {
  Instance plugin(kThrows);
  EXPECT_EQ(plugin.create(), DH_ERR_INTERNAL);
  EXPECT_EQ(plugin.instance(), nullptr);
  EXPECT_EQ(plugin.create_call().error_message, "cannot open /dev/thing");
}

TEST(SdkCreate, WithoutServicesIsIncompatible) {
  Instance plugin(kStore);
  plugin.params().services = nullptr;
  EXPECT_EQ(plugin.create(), DH_ERR_INCOMPATIBLE);
  EXPECT_EQ(plugin.instance(), nullptr);
}

TEST(SdkCreate, ParamsTooShortForServicesIsIncompatible) {
  Instance plugin(kStore);
  plugin.params().struct_size = static_cast<uint32_t>(offsetof(dh_init_params, services));
  EXPECT_EQ(plugin.create(), DH_ERR_INCOMPATIBLE);
  EXPECT_EQ(plugin.instance(), nullptr);
}

TEST(SdkCreate, ServicesTableTooShortIsIncompatible) {
  dh_host_services old = deckhand::host_services();
  old.struct_size = static_cast<uint32_t>(offsetof(dh_host_services, metric_set));  // lacks metric_set
  Instance plugin(kStore);
  plugin.params().services = &old;
  EXPECT_EQ(plugin.create(), DH_ERR_INCOMPATIBLE);
  EXPECT_EQ(plugin.instance(), nullptr);
}

TEST(SdkCreate, NullParamsOrOutIsIncompatible) {
  deckhand::CallContext context;
  dh_instance* out = nullptr;
  EXPECT_EQ(kStore.create(nullptr, context.handle(), &out), DH_ERR_INCOMPATIBLE);
  Instance plugin(kStore);
  EXPECT_EQ(kStore.create(&plugin.params(), context.handle(), nullptr), DH_ERR_INCOMPATIBLE);
}

TEST(SdkCreate, HostViewAndMetricsFromInitParams) {
  Instance plugin(kStore, "{\"x\":1}");
  ASSERT_EQ(plugin.create(), DH_OK);
  deckhand::CallContext context;
  context.deadline_ns = 42424242;
  ASSERT_EQ(plugin.call(store_ops().list_images, "{\"all\":true}", context), DH_OK);
  EXPECT_EQ(context.output,
            "{\"request\":{\"all\":true},\"name\":\"store\",\"state_dir\":\"/var/lib/deckhand/plugins/store\","
            "\"agent\":\"9.8.7\",\"deadline\":42424242}");
  const std::string text = plugin.metrics().serialize();
  EXPECT_NE(text.find("deckhand_store_calls_total{plugin=\"store\"} 1\n"), std::string::npos) << text;
}

// ---------------------------------------------------------------- operations

class SdkStoreCalls : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(plugin_.create(), DH_OK); }
  Instance plugin_{kStore};
  deckhand::CallContext context_;
};

TEST_F(SdkStoreCalls, NullRequestIsAnEmptyObject) {
  ASSERT_EQ(plugin_.call(store_ops().list_images, nullptr, context_), DH_OK);
  EXPECT_EQ(context_.output.rfind("{\"request\":{},", 0), 0u) << context_.output;
}

TEST_F(SdkStoreCalls, RuntimeErrorIsInternalWithWhat) {
  EXPECT_EQ(plugin_.call(store_ops().image_status, "{}", context_), DH_ERR_INTERNAL);
  EXPECT_EQ(context_.error_status, DH_ERR_INTERNAL);
  EXPECT_EQ(context_.error_message, "disk on fire");
  EXPECT_EQ(context_.output, "");
}

TEST_F(SdkStoreCalls, BadAllocIsResourceExhausted) {
  EXPECT_EQ(plugin_.call(store_ops().pull_image, "{}", context_), DH_ERR_RESOURCE_EXHAUSTED);
  EXPECT_EQ(context_.error_status, DH_ERR_RESOURCE_EXHAUSTED);
  EXPECT_EQ(context_.error_message, "out of memory");
}

TEST_F(SdkStoreCalls, ThrownIntIsInternalUnknownException) {
  EXPECT_EQ(plugin_.call(store_ops().remove_image, "{}", context_), DH_ERR_INTERNAL);
  EXPECT_EQ(context_.error_status, DH_ERR_INTERNAL);
  EXPECT_EQ(context_.error_message, "unknown exception in plugin");
}

TEST_F(SdkStoreCalls, SdkErrorKeepsItsStatus) {
  EXPECT_EQ(plugin_.call(store_ops().prepare_rootfs, "{}", context_), DH_ERR_NOT_FOUND);
  EXPECT_EQ(context_.error_status, DH_ERR_NOT_FOUND);
  EXPECT_EQ(context_.error_message, "image alpine not found");
}

TEST_F(SdkStoreCalls, SdkErrorWithOkStatusIsStillAFailure) {
  EXPECT_EQ(plugin_.call(store_ops().prepare_volume, "{}", context_), DH_ERR_INTERNAL);
  EXPECT_EQ(context_.error_message, "ok, but thrown");
}

TEST_F(SdkStoreCalls, ProgressGoesThroughTheHost) {
  std::string seen;
  context_.on_progress = [&](const std::string& json) { seen += json + ";"; };
  ASSERT_EQ(plugin_.call(store_ops().release_rootfs, "{}", context_), DH_OK);
  EXPECT_EQ(seen, "{\"step\":1};{\"step\":2};");
  EXPECT_EQ(context_.output, "{}");
}

TEST_F(SdkStoreCalls, ErrorsAreRecoverable) {
  // A throwing call leaves the instance usable.
  EXPECT_EQ(plugin_.call(store_ops().image_status, "{}", context_), DH_ERR_INTERNAL);
  deckhand::CallContext next;
  EXPECT_EQ(plugin_.call(store_ops().list_images, "{}", next), DH_OK);
  EXPECT_EQ(next.error_message, "");
}

// --------------------------------------------------------------------- health

TEST(SdkHealth, PresentAndHealthy) {
  Instance plugin(kStore);
  ASSERT_EQ(plugin.create(), DH_OK);
  deckhand::CallContext context;
  EXPECT_EQ(kStore.health(plugin.instance(), context.handle()), DH_OK);
  EXPECT_EQ(context.error_message, "");
}

TEST(SdkHealth, ThrowingErrorIsItsStatus) {
  Instance plugin(kStore, "{\"mode\":\"sick\"}");
  ASSERT_EQ(plugin.create(), DH_OK);
  deckhand::CallContext context;
  EXPECT_EQ(kStore.health(plugin.instance(), context.handle()), DH_ERR_UNAVAILABLE);
  EXPECT_EQ(context.error_status, DH_ERR_UNAVAILABLE);
  EXPECT_EQ(context.error_message, "backend unreachable");
}

TEST(SdkHealth, ThrowingAnythingElseIsInternal) {
  Instance plugin(kHealthInt);
  ASSERT_EQ(plugin.create(), DH_OK);
  deckhand::CallContext context;
  EXPECT_EQ(kHealthInt.health(plugin.instance(), context.handle()), DH_ERR_INTERNAL);
  EXPECT_EQ(context.error_message, "unknown exception in plugin");
}

TEST(SdkNetworkCalls, CheckEchoes) {
  Instance plugin(kNet);
  ASSERT_EQ(plugin.create(), DH_OK);
  deckhand::CallContext context;
  ASSERT_EQ(plugin.call(kNetOps.check, "{\"pod_id\":\"p\"}", context), DH_OK);
  EXPECT_EQ(context.output, "{\"pod_id\":\"p\"}");
}

// ---------------------------------------------------------------- host view

TEST(SdkHost, CopiesInitStringsAndDefaultsNulls) {
  deckhand::Metrics metrics;
  deckhand::HostContext context;
  context.plugin_name = "h";
  context.metrics = &metrics;
  std::string name = "h";
  std::string config = "{\"a\":1}";
  dh_init_params params{};
  params.struct_size = sizeof params;
  params.abi_minor = 3;
  params.name = name.c_str();
  params.config_json = config.c_str();
  params.host = context.handle();
  params.services = &deckhand::host_services();
  Host host(params);
  name = "changed";
  config = "changed";
  EXPECT_EQ(host.name(), "h");
  EXPECT_EQ(host.config_json(), "{\"a\":1}");
  EXPECT_EQ(host.state_dir(), "");
  EXPECT_EQ(host.agent_version(), "");
  EXPECT_EQ(host.agent_abi_minor(), 3u);
  EXPECT_EQ(host.services(), &deckhand::host_services());
  params.config_json = nullptr;
  EXPECT_EQ(Host(params).config_json(), "{}");

  // A refused registration is a harmless no-op metric.
  const sdk::Metric bad = host.counter("process_forbidden", "h");
  EXPECT_FALSE(bad);
  bad.add(1);
  bad.set(1);
  const sdk::Metric good = host.gauge("deckhand_h_level", "h");
  EXPECT_TRUE(good);
  good.set(9);
  EXPECT_NE(metrics.serialize().find("deckhand_h_level{plugin=\"h\"} 9\n"), std::string::npos);
  EXPECT_FALSE(sdk::Metric());
}

TEST(SdkErrors, Helpers) {
  EXPECT_EQ(sdk::invalid_argument("a").status(), DH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sdk::not_found("a").status(), DH_ERR_NOT_FOUND);
  EXPECT_EQ(sdk::already_exists("a").status(), DH_ERR_ALREADY_EXISTS);
  EXPECT_EQ(sdk::failed_precondition("a").status(), DH_ERR_FAILED_PRECONDITION);
  EXPECT_EQ(sdk::unavailable("a").status(), DH_ERR_UNAVAILABLE);
  EXPECT_EQ(sdk::internal("boom").status(), DH_ERR_INTERNAL);
  EXPECT_STREQ(sdk::internal("boom").what(), "boom");
}

}  // namespace
