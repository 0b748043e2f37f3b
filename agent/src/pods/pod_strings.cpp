#include "pods/pod_strings.hpp"

#include <array>
#include <cstdio>
#include <utility>

namespace deckhand::pods {

std::string_view to_string(RestartPolicy policy) {
  switch (policy) {
    case RestartPolicy::always: return "Always";
    case RestartPolicy::on_failure: return "OnFailure";
    case RestartPolicy::never: return "Never";
  }
  return "";
}

std::string_view to_string(PullPolicy policy) {
  switch (policy) {
    case PullPolicy::always: return "Always";
    case PullPolicy::if_not_present: return "IfNotPresent";
    case PullPolicy::never: return "Never";
  }
  return "";
}

std::string_view to_string(Protocol protocol) {
  switch (protocol) {
    case Protocol::tcp: return "TCP";
    case Protocol::udp: return "UDP";
  }
  return "";
}

std::string_view to_string(SeccompType type) {
  switch (type) {
    case SeccompType::runtime_default: return "RuntimeDefault";
    case SeccompType::unconfined: return "Unconfined";
    case SeccompType::localhost: return "Localhost";
  }
  return "";
}

std::string_view to_string(HostPathType type) {
  switch (type) {
    case HostPathType::unset: return "";
    case HostPathType::directory_or_create: return "DirectoryOrCreate";
    case HostPathType::directory: return "Directory";
    case HostPathType::file_or_create: return "FileOrCreate";
    case HostPathType::file: return "File";
    case HostPathType::socket: return "Socket";
    case HostPathType::char_device: return "CharDevice";
    case HostPathType::block_device: return "BlockDevice";
  }
  return "";
}

std::string_view to_string(FieldRef field) {
  switch (field) {
    case FieldRef::pod_name: return "metadata.name";
    case FieldRef::pod_namespace: return "metadata.namespace";
    case FieldRef::pod_uid: return "metadata.uid";
    case FieldRef::pod_ip: return "status.podIP";
    case FieldRef::node_name: return "spec.nodeName";
    case FieldRef::host_ip: return "status.hostIP";
    case FieldRef::service_account_name: return "spec.serviceAccountName";
  }
  return "";
}

std::string cpu_quantity(int64_t millis) {
  if (millis % 1000 == 0) return std::to_string(millis / 1000);
  return std::to_string(millis) + "m";
}

namespace {

// The largest suffix of `suffixes` (largest first) that divides `bytes`
// exactly, as {mantissa, suffix}; {bytes, ""} when none does.
template <std::size_t N>
std::pair<int64_t, std::string_view> with_suffix(int64_t bytes,
                                                 const std::array<std::pair<int64_t, std::string_view>, N>& suffixes) {
  for (const auto& [unit, suffix] : suffixes) {
    if (bytes % unit == 0) return {bytes / unit, suffix};
  }
  return {bytes, ""};
}

std::size_t digits(int64_t value) { return std::to_string(value).size(); }

}  // namespace

std::string memory_quantity(int64_t bytes) {
  if (bytes == 0) return "0";
  static constexpr std::array<std::pair<int64_t, std::string_view>, 6> kBinary = {{
      {int64_t{1} << 60, "Ei"}, {int64_t{1} << 50, "Pi"}, {int64_t{1} << 40, "Ti"},
      {int64_t{1} << 30, "Gi"}, {int64_t{1} << 20, "Mi"}, {int64_t{1} << 10, "Ki"},
  }};
  static constexpr std::array<std::pair<int64_t, std::string_view>, 6> kDecimal = {{
      {1'000'000'000'000'000'000, "E"}, {1'000'000'000'000'000, "P"}, {1'000'000'000'000, "T"},
      {1'000'000'000, "G"}, {1'000'000, "M"}, {1'000, "k"},
  }};
  const auto binary = with_suffix(bytes, kBinary);
  const auto decimal = with_suffix(bytes, kDecimal);
  // A tie goes to binary: memory is usually written in Mi and Gi.
  const auto& best = digits(decimal.first) < digits(binary.first) ? decimal : binary;
  return std::to_string(best.first) + std::string(best.second);
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\v': out += "\\v"; break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
          char escaped[5];
          std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
          out += escaped;
        } else {
          out += c;
        }
      }
    }
  }
  return out + "\"";
}

}  // namespace deckhand::pods
