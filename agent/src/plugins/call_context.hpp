// The agent's side of one plugin call (the opaque dh_call) and of one plugin
// instance's host handle (the opaque dh_host), plus the host-services table.
#pragma once

#include <deckhand/plugin.h>

#include <cstdint>
#include <functional>
#include <string>

namespace deckhand {

class PluginMetricsSink;

// Largest result a plugin may hand back through call_set_output.
inline constexpr std::size_t kMaxCallOutput = 16u << 20;
// Longest log line or error message kept from a plugin.
inline constexpr std::size_t kMaxPluginMessage = 8u << 10;

struct CallContext {
  std::string output;
  bool output_too_large = false;
  int32_t error_status = DH_OK;
  std::string error_message;
  uint64_t deadline_ns = 0;  // CLOCK_MONOTONIC, 0 = none
  std::function<void(const std::string&)> on_progress;

  dh_call* handle() { return reinterpret_cast<dh_call*>(this); }
};

struct HostContext {
  std::string plugin_name;
  std::string state_dir;
  PluginMetricsSink* metrics = nullptr;

  dh_host* handle() { return reinterpret_cast<dh_host*>(this); }
};

// The table handed to every plugin; static, so it outlives every instance.
const dh_host_services& host_services();

// "invalid argument", "not found", ... for messages; unknown codes print as numbers.
std::string status_name(int32_t status);

// CLOCK_MONOTONIC now, in nanoseconds.
uint64_t monotonic_now_ns();

}  // namespace deckhand
