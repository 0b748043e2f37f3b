// deckhand plugin SDK, C++ layer. Header-only: it compiles into the plugin,
// so the agent never sees a C++ type, an exception or an allocation of the
// plugin's. A plugin in C++ is a class plus one export macro:
//
//   class DirStore {
//    public:
//     explicit DirStore(deckhand::sdk::Host& host);      // may throw Error
//     void health(deckhand::sdk::Call& call);            // optional; throw = unhealthy
//     std::string prepare_rootfs(deckhand::sdk::Call&, std::string_view request_json);
//     ...one method per operation the plugin offers (see plugin.h)...
//   };
//   DECKHAND_PLUGIN(DirStore, storage, "dirstore", "1.0.0", "root filesystems from plain directories")
//
// Operations the class does not define are left NULL in the table, which the
// agent reports as "unimplemented". Anything the class throws is caught at the
// boundary and turned into a status and a message: a deckhand::sdk::Error
// keeps its status, std::bad_alloc becomes RESOURCE_EXHAUSTED, any other
// exception INTERNAL.
#pragma once

#include <deckhand/plugin.h>

#include <time.h>

#include <concepts>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace deckhand::sdk {

// An error with a status, thrown by plugin code and returned to the agent.
class Error : public std::exception {
 public:
  Error(dh_status status, std::string message) : status_(status), message_(std::move(message)) {}
  dh_status status() const noexcept { return status_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  dh_status status_;
  std::string message_;
};

inline Error invalid_argument(std::string m) { return {DH_ERR_INVALID_ARGUMENT, std::move(m)}; }
inline Error not_found(std::string m) { return {DH_ERR_NOT_FOUND, std::move(m)}; }
inline Error already_exists(std::string m) { return {DH_ERR_ALREADY_EXISTS, std::move(m)}; }
inline Error failed_precondition(std::string m) { return {DH_ERR_FAILED_PRECONDITION, std::move(m)}; }
inline Error unavailable(std::string m) { return {DH_ERR_UNAVAILABLE, std::move(m)}; }
inline Error permission_denied(std::string m) { return {DH_ERR_PERMISSION_DENIED, std::move(m)}; }
inline Error resource_exhausted(std::string m) { return {DH_ERR_RESOURCE_EXHAUSTED, std::move(m)}; }
inline Error deadline_exceeded(std::string m) { return {DH_ERR_DEADLINE_EXCEEDED, std::move(m)}; }
inline Error unimplemented(std::string m) { return {DH_ERR_UNIMPLEMENTED, std::move(m)}; }
inline Error internal(std::string m) { return {DH_ERR_INTERNAL, std::move(m)}; }

// A metric on the agent's /metrics, labelled with the plugin instance's name.
// A default-constructed or failed registration is a harmless no-op.
class Metric {
 public:
  Metric() = default;
  Metric(dh_metric* metric, const dh_host_services* services) : metric_(metric), services_(services) {}
  void add(double delta) const {
    if (metric_ != nullptr) services_->metric_add(metric_, delta);
  }
  void set(double value) const {
    if (metric_ != nullptr) services_->metric_set(metric_, value);
  }
  explicit operator bool() const { return metric_ != nullptr; }

 private:
  dh_metric* metric_ = nullptr;
  const dh_host_services* services_ = nullptr;
};

// The agent's services, as the plugin instance sees them. Lives as long as the
// instance. Copies the borrowed init strings it keeps.
class Host {
 public:
  explicit Host(const dh_init_params& params)
      : host_(params.host),
        services_(params.services),
        name_(params.name != nullptr ? params.name : ""),
        state_dir_(params.state_dir != nullptr ? params.state_dir : ""),
        config_json_(params.config_json != nullptr ? params.config_json : "{}"),
        agent_version_(params.agent_version != nullptr ? params.agent_version : ""),
        agent_abi_minor_(params.abi_minor) {}

  const std::string& name() const { return name_; }
  const std::string& state_dir() const { return state_dir_; }
  const std::string& config_json() const { return config_json_; }
  const std::string& agent_version() const { return agent_version_; }
  uint32_t agent_abi_minor() const { return agent_abi_minor_; }
  const dh_host_services* services() const { return services_; }

  void log(dh_log_level level, const std::string& message) const {
    services_->log(host_, level, message.c_str());
  }
  void debug(const std::string& m) const { log(DH_LOG_DEBUG, m); }
  void info(const std::string& m) const { log(DH_LOG_INFO, m); }
  void warn(const std::string& m) const { log(DH_LOG_WARN, m); }
  void error(const std::string& m) const { log(DH_LOG_ERROR, m); }

  Metric counter(const char* name, const char* help) const {
    return {services_->metric_register(host_, DH_METRIC_COUNTER, name, help), services_};
  }
  Metric gauge(const char* name, const char* help) const {
    return {services_->metric_register(host_, DH_METRIC_GAUGE, name, help), services_};
  }

 private:
  dh_host* host_;
  const dh_host_services* services_;
  std::string name_;
  std::string state_dir_;
  std::string config_json_;
  std::string agent_version_;
  uint32_t agent_abi_minor_;
};

// One call in progress. Borrowed: do not keep it after the method returns.
class Call {
 public:
  Call(dh_call* call, const dh_host_services* services) : call_(call), services_(services) {}
  void report_progress(const std::string& json) const {
    services_->call_report_progress(call_, json.c_str());
  }
  // CLOCK_MONOTONIC nanoseconds by which to return; 0 = none.
  uint64_t deadline_ns() const { return services_->call_deadline_ns(call_); }
  // True once the agent's deadline for this call has passed (never without one).
  bool deadline_passed() const {
    const uint64_t deadline = deadline_ns();
    if (deadline == 0) return false;
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec) >= deadline;
  }

 private:
  dh_call* call_;
  const dh_host_services* services_;
};

namespace detail {

// An instance as the agent holds it: the host view first, so the plugin's
// constructor can keep a reference to it.
template <class P>
struct Box {
  explicit Box(const dh_init_params& params) : host(params), plugin(host) {}
  const dh_host_services* host_services() const { return host.services(); }
  Host host;
  P plugin;
};

template <class P>
Box<P>& unbox(dh_instance* instance) {
  return *reinterpret_cast<Box<P>*>(instance);
}

// Runs plugin code and converts whatever it throws into a status + message.
template <class F>
int32_t guard(const dh_host_services* services, dh_call* call, F&& body) noexcept {
  try {
    body();
    return DH_OK;
  } catch (const Error& e) {
    // An Error must carry a failure; one built with DH_OK is a plugin bug.
    const int32_t status = e.status() == DH_OK ? DH_ERR_INTERNAL : e.status();
    services->call_set_error(call, status, e.what());
    return status;
  } catch (const std::bad_alloc&) {
    services->call_set_error(call, DH_ERR_RESOURCE_EXHAUSTED, "out of memory");
    return DH_ERR_RESOURCE_EXHAUSTED;
  } catch (const std::exception& e) {
    services->call_set_error(call, DH_ERR_INTERNAL, e.what());
    return DH_ERR_INTERNAL;
  } catch (...) {
    services->call_set_error(call, DH_ERR_INTERNAL, "unknown exception in plugin");
    return DH_ERR_INTERNAL;
  }
}

template <class P, class Method>
int32_t invoke_op(dh_instance* instance, dh_call* call, const char* request, Method method) noexcept {
  Box<P>& box = unbox<P>(instance);
  const dh_host_services* services = box.host_services();
  return guard(services, call, [&] {
    Call c(call, services);
    std::string out = method(box.plugin, c, std::string_view(request != nullptr ? request : "{}"));
    services->call_set_output(call, out.data(), out.size());
  });
}

template <class P>
int32_t create(const dh_init_params* params, dh_call* call, dh_instance** out) noexcept {
  // Without a services table there is no way to report an error message.
  if (params == nullptr || out == nullptr || !DH_HAS_MEMBER(params, dh_init_params, services) ||
      params->services == nullptr ||
      !DH_HAS_MEMBER(params->services, dh_host_services, metric_set)) {
    return DH_ERR_INCOMPATIBLE;
  }
  return guard(params->services, call, [&] {
    auto box = std::make_unique<Box<P>>(*params);
    *out = reinterpret_cast<dh_instance*>(box.release());
  });
}

template <class P>
void destroy(dh_instance* instance) noexcept {
  delete &unbox<P>(instance);
}

template <class P>
concept has_health = requires(P& p, Call& c) { p.health(c); };

template <class P>
constexpr auto health() -> int32_t (*)(dh_instance*, dh_call*) {
  if constexpr (has_health<P>) {
    return [](dh_instance* instance, dh_call* call) noexcept -> int32_t {
      Box<P>& box = unbox<P>(instance);
      const dh_host_services* services = box.host_services();
      return guard(services, call, [&] {
        Call c(call, services);
        box.plugin.health(c);
      });
    };
  } else {
    return nullptr;
  }
}

// One detector + trampoline per operation name: NULL when the class lacks it.
// A public member with an operation's name but another signature is a compile
// error, not a silently missing operation. The result must be exactly
// std::string (a JSON library's value type would convert, then fail at run time).
#define DH_SDK_OPERATION(op)                                                                  \
  template <class P>                                                                          \
  concept has_op_##op = requires(P& p, Call& c, std::string_view r) {                         \
    { p.op(c, r) } -> std::same_as<std::string>;                                              \
  };                                                                                          \
  template <class P>                                                                          \
  constexpr dh_op_fn op_##op() {                                                              \
    if constexpr (has_op_##op<P>) {                                                           \
      return [](dh_instance* i, dh_call* c, const char* r) noexcept -> int32_t {              \
        return invoke_op<P>(i, c, r, [](P& p, Call& call, std::string_view req) {             \
          return p.op(call, req);                                                             \
        });                                                                                   \
      };                                                                                      \
    } else {                                                                                  \
      static_assert(!requires { &P::op; }, "deckhand plugin: member '" #op "' has the name of "   \
                    "an operation but not its signature: std::string " #op                    \
                    "(deckhand::sdk::Call&, std::string_view)");                               \
      return nullptr;                                                                         \
    }                                                                                         \
  }

DH_SDK_OPERATION(create)
DH_SDK_OPERATION(start)
DH_SDK_OPERATION(state)
DH_SDK_OPERATION(kill)
DH_SDK_OPERATION(remove)
DH_SDK_OPERATION(wait)
DH_SDK_OPERATION(exec)
DH_SDK_OPERATION(stats)
DH_SDK_OPERATION(list)
DH_SDK_OPERATION(create_sandbox)
DH_SDK_OPERATION(remove_sandbox)
DH_SDK_OPERATION(list_sandboxes)
DH_SDK_OPERATION(default_spec)
DH_SDK_OPERATION(attach)
DH_SDK_OPERATION(detach)
DH_SDK_OPERATION(check)
DH_SDK_OPERATION(set_node_routes)
DH_SDK_OPERATION(sync_services)
DH_SDK_OPERATION(update_service)
DH_SDK_OPERATION(delete_service)
DH_SDK_OPERATION(pull_image)
DH_SDK_OPERATION(image_status)
DH_SDK_OPERATION(list_images)
DH_SDK_OPERATION(remove_image)
DH_SDK_OPERATION(prepare_rootfs)
DH_SDK_OPERATION(release_rootfs)
DH_SDK_OPERATION(prepare_volume)
DH_SDK_OPERATION(release_volume)
DH_SDK_OPERATION(load_image)
DH_SDK_OPERATION(prune_images)
DH_SDK_OPERATION(project_volume)
#undef DH_SDK_OPERATION

template <class P>
constexpr dh_runtime_ops runtime_ops() {
  return {sizeof(dh_runtime_ops), 0,          op_create<P>(), op_start<P>(), op_state<P>(),
          op_kill<P>(),           op_remove<P>(), op_wait<P>(), op_exec<P>(),  op_stats<P>(),
          op_list<P>(),           op_create_sandbox<P>(), op_remove_sandbox<P>(), op_list_sandboxes<P>(),
          op_default_spec<P>()};
}

template <class P>
constexpr dh_network_ops network_ops() {
  return {sizeof(dh_network_ops), 0,
          op_attach<P>(),         op_detach<P>(),
          op_check<P>(),          op_set_node_routes<P>(),
          op_sync_services<P>(),  op_update_service<P>(),
          op_delete_service<P>()};
}

template <class P>
constexpr dh_storage_ops storage_ops() {
  return {sizeof(dh_storage_ops), 0,
          op_pull_image<P>(),     op_image_status<P>(),
          op_list_images<P>(),    op_remove_image<P>(),
          op_prepare_rootfs<P>(), op_release_rootfs<P>(),
          op_prepare_volume<P>(), op_release_volume<P>(),
          op_load_image<P>(),     op_prune_images<P>(),
          op_project_volume<P>()};
}

inline constexpr int32_t kind_runtime = DH_KIND_RUNTIME;
inline constexpr int32_t kind_network = DH_KIND_NETWORK;
inline constexpr int32_t kind_storage = DH_KIND_STORAGE;

template <class P>
constexpr dh_plugin_descriptor descriptor(int32_t kind, const char* name, const char* version,
                                          const char* description, const void* ops) {
  return {DH_DESCRIPTOR_MAGIC,
          sizeof(dh_plugin_descriptor),
          DH_ABI_MAJOR,
          DH_ABI_MINOR,
          DH_BUILD_FINGERPRINT,
          name,
          kind,
          0,
          version,
          description,
          &create<P>,
          &destroy<P>,
          health<P>(),
          ops};
}

}  // namespace detail
}  // namespace deckhand::sdk

// Exports the plugin: Class is the plugin class, Kind one of runtime, network,
// storage; Name the plugin's id, Version its version, Description one line.
// Use it once per shared object, at namespace scope in one .cpp file.
#define DECKHAND_PLUGIN(Class, Kind, Name, Version, Description)                             \
  namespace {                                                                                 \
  constexpr auto deckhand_plugin_ops_ = ::deckhand::sdk::detail::Kind##_ops<Class>();         \
  constexpr dh_plugin_descriptor deckhand_plugin_descriptor_ =                                \
      ::deckhand::sdk::detail::descriptor<Class>(::deckhand::sdk::detail::kind_##Kind, Name,  \
                                                 Version, Description, &deckhand_plugin_ops_); \
  }                                                                                           \
  extern "C" __attribute__((visibility("default"))) const dh_plugin_descriptor*               \
  deckhand_plugin_entry(void) {                                                               \
    return &deckhand_plugin_descriptor_;                                                      \
  }
