// The host-services table. Every argument comes from plugin code and is
// treated as untrusted: null pointers are ignored, messages are capped and
// made single-line, outputs are capped, metric deltas are checked.
#include <spdlog/spdlog.h>
#include <time.h>

#include <cmath>
#include <cstring>

#include "plugins/call_context.hpp"
#include "plugins/plugin_metrics.hpp"

namespace deckhand {
namespace {

// Length of the valid UTF-8 sequence starting at text[i] (1-4), or 0 if invalid.
std::size_t utf8_sequence(const unsigned char* text, std::size_t i, std::size_t length) {
  const unsigned char lead = text[i];
  std::size_t size = 0;
  uint32_t code = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) size = 2, code = lead & 0x1F;
  else if ((lead & 0xF0) == 0xE0) size = 3, code = lead & 0x0F;
  else if ((lead & 0xF8) == 0xF0) size = 4, code = lead & 0x07;
  else return 0;
  if (i + size > length) return 0;
  for (std::size_t k = 1; k < size; ++k) {
    if ((text[i + k] & 0xC0) != 0x80) return 0;
    code = (code << 6) | (text[i + k] & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  static const uint32_t minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < minimum[size] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return size;
}

// A plugin's text made fit for one log line, a JSON string and a Prometheus
// help text: at most kMaxPluginMessage bytes (cut on a character boundary),
// valid UTF-8 (invalid bytes become '?'), control characters escaped or replaced.
std::string bounded_line(const char* text) {
  if (text == nullptr) return {};
  const std::size_t length = strnlen(text, kMaxPluginMessage + 1);
  const bool truncated = length > kMaxPluginMessage;
  const std::size_t keep = truncated ? kMaxPluginMessage : length;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text);
  std::string line;
  line.reserve(keep);
  for (std::size_t i = 0; i < keep;) {
    const unsigned char c = bytes[i];
    if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else if (c < 0x20 && c != '\t') {
      line += '?';
    } else if (c >= 0x80) {
      const std::size_t size = utf8_sequence(bytes, i, keep);
      if (size == 0) {
        line += '?';
      } else {
        line.append(text + i, size);
        i += size;
        continue;
      }
    } else {
      line += static_cast<char>(c);
    }
    ++i;
  }
  if (truncated) line += "...(truncated)";
  return line;
}

spdlog::level::level_enum to_spdlog(int32_t level) {
  switch (level) {
    case DH_LOG_TRACE: return spdlog::level::trace;
    case DH_LOG_DEBUG: return spdlog::level::debug;
    case DH_LOG_INFO: return spdlog::level::info;
    case DH_LOG_WARN: return spdlog::level::warn;
    default: return spdlog::level::err;
  }
}

void host_log(dh_host* host, int32_t level, const char* message) {
  if (host == nullptr || message == nullptr) return;
  const auto* context = reinterpret_cast<HostContext*>(host);
  const auto spd_level = to_spdlog(level);
  if (!spdlog::should_log(spd_level)) return;
  spdlog::log(spd_level, "plugin={} {}", context->plugin_name, bounded_line(message));
}

void call_set_output(dh_call* call, const char* data, size_t length) {
  if (call == nullptr || (data == nullptr && length > 0)) return;
  auto* context = reinterpret_cast<CallContext*>(call);
  if (length > kMaxCallOutput) {
    context->output_too_large = true;
    context->output.clear();
    return;
  }
  context->output_too_large = false;  // the latest output is the one that counts
  context->output.assign(data == nullptr ? "" : data, length);
}

void call_set_error(dh_call* call, int32_t status, const char* message) {
  if (call == nullptr) return;
  auto* context = reinterpret_cast<CallContext*>(call);
  context->error_status = status;
  context->error_message = bounded_line(message);
}

void call_report_progress(dh_call* call, const char* json) {
  if (call == nullptr || json == nullptr) return;
  auto* context = reinterpret_cast<CallContext*>(call);
  if (context->on_progress) context->on_progress(bounded_line(json));
}

uint64_t call_deadline_ns(dh_call* call) {
  return call == nullptr ? 0 : reinterpret_cast<CallContext*>(call)->deadline_ns;
}

dh_metric* metric_register(dh_host* host, int32_t type, const char* name, const char* help) {
  if (host == nullptr || name == nullptr) return nullptr;
  const auto* context = reinterpret_cast<HostContext*>(host);
  std::string error;
  PluginMetric* metric = context->metrics->register_plugin_metric(
      context->plugin_name, type, bounded_line(name), help == nullptr ? "" : bounded_line(help), error);
  if (metric == nullptr) {
    spdlog::warn("plugin={} metric not registered: {}", context->plugin_name, error);
  }
  return reinterpret_cast<dh_metric*>(metric);
}

void metric_add(dh_metric* handle, double delta) {
  if (handle == nullptr || !std::isfinite(delta)) return;
  reinterpret_cast<PluginMetric*>(handle)->add(delta);
}

void metric_set(dh_metric* handle, double value) {
  if (handle == nullptr || !std::isfinite(value)) return;
  reinterpret_cast<PluginMetric*>(handle)->set(value);
}

const dh_host_services kServices = {
    sizeof(dh_host_services), 0,           host_log,        call_set_output, call_set_error,
    call_report_progress,     call_deadline_ns, metric_register, metric_add,      metric_set,
};

}  // namespace

const dh_host_services& host_services() { return kServices; }

std::string status_name(int32_t status) {
  switch (status) {
    case DH_OK: return "ok";
    case DH_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DH_ERR_NOT_FOUND: return "not found";
    case DH_ERR_ALREADY_EXISTS: return "already exists";
    case DH_ERR_FAILED_PRECONDITION: return "failed precondition";
    case DH_ERR_PERMISSION_DENIED: return "permission denied";
    case DH_ERR_RESOURCE_EXHAUSTED: return "resource exhausted";
    case DH_ERR_UNAVAILABLE: return "unavailable";
    case DH_ERR_DEADLINE_EXCEEDED: return "deadline exceeded";
    case DH_ERR_UNIMPLEMENTED: return "unimplemented";
    case DH_ERR_INTERNAL: return "internal error";
    case DH_ERR_INCOMPATIBLE: return "incompatible";
    default: return "status " + std::to_string(status);
  }
}

uint64_t monotonic_now_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace deckhand
