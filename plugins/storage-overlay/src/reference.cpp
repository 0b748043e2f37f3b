#include "reference.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <optional>
#include <string>

#include "digest.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

constexpr std::string_view kDefaultRegistry = "docker.io";
constexpr std::string_view kDefaultApiHost = "registry-1.docker.io";
constexpr std::string_view kOfficialPrefix = "library/";
constexpr std::string_view kDefaultTag = "latest";
constexpr std::size_t kMaxNameLength = 255;
constexpr std::size_t kMaxTagLength = 128;
// Error messages quote the user's text; a huge or binary one must not make a
// huge or binary message.
constexpr std::size_t kMaxQuotedLength = 512;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower_alnum(char c) { return is_lower(c) || is_digit(c); }
bool is_alnum(char c) { return is_lower(c) || is_upper(c) || is_digit(c); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_tag_char(char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; }

bool has_upper(std::string_view text) {
  for (char c : text) {
    if (is_upper(c)) return true;
  }
  return false;
}

std::string to_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (is_upper(c)) c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// The text in double quotes, with anything but printable ASCII written as
// \xNN so that the message stays readable and valid UTF-8 whatever was typed.
std::string in_quotes(std::string_view text) {
  static const char* const kHex = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxQuotedLength; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '"' || byte == '\\') {
      out += '\\';
      out += static_cast<char>(byte);
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += static_cast<char>(byte);
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  if (text.size() > kMaxQuotedLength) out += "...";
  return out + "\"";
}

// Docker's path component: [a-z0-9]+ joined by ".", "_", "__" or a run of "-".
bool is_path_component(std::string_view component) {
  if (component.empty() || !is_lower_alnum(component.front()) || !is_lower_alnum(component.back())) return false;
  std::size_t i = 0;
  while (i < component.size()) {
    if (is_lower_alnum(component[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < component.size() && !is_lower_alnum(component[end])) ++end;
    const std::string_view separator = component.substr(i, end - i);
    const bool dashes = separator.find_first_not_of('-') == std::string_view::npos;
    if (!(separator == "." || separator == "_" || separator == "__" || dashes)) return false;
    i = end;
  }
  return true;
}

// The problem with a repository path ("library/nginx"), or "" when it is valid.
std::string path_problem(std::string_view path, std::string_view registry) {
  if (path.empty()) return "no repository name after the registry " + in_quotes(registry);
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string_view component = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (component.empty()) return "repository " + in_quotes(path) + " has an empty path component (\"//\" or a \"/\" at an end)";
    if (!is_path_component(component)) {
      if (has_upper(component) && is_path_component(to_lower(component))) return "repository names must be lowercase";
      return "invalid repository path component " + in_quotes(component) +
             " (lowercase letters and digits, joined by \".\", \"_\", \"__\" or \"-\", starting and ending with a "
             "letter or digit)";
    }
    if (slash == std::string_view::npos) return "";
    start = slash + 1;
  }
}

// Labels of letters, digits and inner "-", joined by "."; IPv4 addresses match too.
bool is_host_name(std::string_view host) {
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = host.find('.', start);
    const std::string_view label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    for (char c : label) {
      if (!is_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Docker's grammar takes hex digits and colons only (no zone, no embedded
// IPv4); inet_pton then refuses what is not an address at all, like ":::".
bool is_ipv6_literal(std::string_view address) {
  if (address.empty()) return false;
  for (char c : address) {
    if (!is_hex(c) && c != ':') return false;
  }
  in6_addr parsed{};
  return inet_pton(AF_INET6, std::string(address).c_str(), &parsed) == 1;
}

bool is_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  return error == std::errc() && end == port.data() + port.size() && value >= 1 && value <= 65535;
}

// A registry split into its host ("[::1]" keeps its brackets) and port.
struct HostPort {
  std::string_view host;
  std::string_view port;
  bool has_port = false;
};

// Splits at the port's colon: after the "]" of an IPv6 literal, else the first one.
std::optional<HostPort> split_host_port(std::string_view registry) {
  HostPort split;
  std::size_t port_colon = std::string_view::npos;
  if (!registry.empty() && registry.front() == '[') {
    const std::size_t close = registry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    split.host = registry.substr(0, close + 1);
    if (close + 1 < registry.size()) {
      if (registry[close + 1] != ':') return std::nullopt;
      port_colon = close + 1;
    }
  } else {
    port_colon = registry.find(':');
    split.host = registry.substr(0, port_colon);
  }
  if (port_colon != std::string_view::npos) {
    split.has_port = true;
    split.port = registry.substr(port_colon + 1);
  }
  return split;
}

std::string registry_problem(std::string_view registry) {
  const std::optional<HostPort> split = split_host_port(registry);
  if (!split) {
    return registry.find(']') == std::string_view::npos
               ? "invalid registry " + in_quotes(registry) + " (no \"]\" closes the IPv6 address)"
               : "invalid registry " + in_quotes(registry) + " (only \":\" and a port may follow the \"]\")";
  }
  if (!split->host.empty() && split->host.front() == '[') {
    const std::string_view address = split->host.substr(1, split->host.size() - 2);
    if (!is_ipv6_literal(address)) return "invalid IPv6 address " + in_quotes(split->host) + " in the registry";
  } else {
    if (split->port.find(':') != std::string_view::npos) {
      return "invalid registry " + in_quotes(registry) + " (an IPv6 address is written in brackets, as in [fc00::1]:5000)";
    }
    if (!is_host_name(split->host)) {
      return "invalid registry host " + in_quotes(split->host) +
             " (a host name of letters, digits, \"-\" and \".\", or an IP address)";
    }
  }
  if (split->has_port && !is_port(split->port)) {
    return "invalid registry port " + in_quotes(split->port) + " (a number from 1 to 65535)";
  }
  return "";
}

std::string tag_problem(std::string_view tag) {
  if (tag.empty()) return "empty tag";
  if (tag.size() > kMaxTagLength) {
    return "tag is " + std::to_string(tag.size()) + " characters, longer than the " + std::to_string(kMaxTagLength) +
           " allowed";
  }
  bool valid = tag.front() != '.' && tag.front() != '-';
  for (char c : tag) valid = valid && is_tag_char(c);
  if (!valid) {
    return "invalid tag " + in_quotes(tag) +
           " (letters, digits, \"_\", \".\" and \"-\", not starting with \".\" or \"-\")";
  }
  return "";
}

// An image ID typed where a name belongs: Docker refuses it so that "run
// <id>" can never pull a repository that happens to be named like an ID.
bool is_image_id(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!is_digit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

// "https://" and friends: a common paste from a browser.
std::string_view url_scheme(std::string_view text) {
  const std::size_t separator = text.find("://");
  if (separator == std::string_view::npos || separator == 0) return {};
  for (char c : text.substr(0, separator)) {
    if (!is_lower(c) && !is_upper(c)) return {};
  }
  return text.substr(0, separator + 3);
}

// distribution/reference's splitDockerDomain: the first component is a
// registry if it looks like a host (a "." or a ":", "localhost") or has an
// uppercase letter (repository paths cannot); otherwise Docker Hub is meant.
void split_registry(std::string_view name, ImageReference& reference) {
  const std::size_t slash = name.find('/');
  const std::string_view first = name.substr(0, slash);
  if (slash != std::string_view::npos &&
      (first == "localhost" || first.find_first_of(".:") != std::string_view::npos || has_upper(first))) {
    reference.registry = first;
    reference.repository = name.substr(slash + 1);
  } else {
    reference.registry = kDefaultRegistry;
    reference.repository = name;
  }
  if (reference.registry == "index.docker.io" || reference.registry == "registry-1.docker.io") {
    reference.registry = kDefaultRegistry;
  }
  if (reference.registry == kDefaultRegistry && reference.repository.find('/') == std::string::npos) {
    reference.repository.insert(0, kOfficialPrefix);
  }
}

}  // namespace

std::string ImageReference::name() const { return registry + "/" + repository; }

std::string ImageReference::string() const {
  std::string text = name();
  if (!tag.empty()) text += ":" + tag;
  if (!digest.empty()) text += "@" + digest;
  return text;
}

std::string ImageReference::familiar() const {
  std::string text;
  if (registry != kDefaultRegistry) {
    text = name();
  } else if (repository.starts_with(kOfficialPrefix) &&
             repository.find('/', kOfficialPrefix.size()) == std::string::npos) {
    text = repository.substr(kOfficialPrefix.size());
  } else {
    text = repository;
  }
  if (!tag.empty()) text += ":" + tag;
  if (!digest.empty()) text += "@" + digest;
  return text;
}

std::string ImageReference::api_host() const {
  return registry == kDefaultRegistry ? std::string(kDefaultApiHost) : registry;
}

ImageReference parse_reference(std::string_view text) {
  const auto refuse = [&](const std::string& problem) {
    return StorageError(Failure::invalid, "invalid reference " + in_quotes(text) + ": " + problem);
  };
  if (text.empty()) throw refuse("empty reference");
  if (const std::string_view scheme = url_scheme(text); !scheme.empty()) {
    throw refuse("a reference has no URL scheme: remove " + in_quotes(scheme));
  }
  if (is_image_id(text)) throw refuse("a 64-character hexadecimal string is an image ID, not a repository name");

  // No part of a name or tag holds an "@", and a tag's ":" is the last one
  // that comes after every "/" (a registry's port comes before one).
  const std::size_t at = text.find('@');
  const std::string_view name_and_tag = text.substr(0, at);
  const std::string_view digest = at == std::string_view::npos ? std::string_view() : text.substr(at + 1);
  const std::size_t colon = name_and_tag.rfind(':');
  const std::size_t last_slash = name_and_tag.rfind('/');
  const bool tagged = colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash);
  const std::string_view name = tagged ? name_and_tag.substr(0, colon) : name_and_tag;
  if (name.empty()) throw refuse("no repository name");

  ImageReference reference;
  split_registry(name, reference);
  if (reference.registry != kDefaultRegistry) {
    if (std::string problem = registry_problem(reference.registry); !problem.empty()) throw refuse(problem);
  }
  if (std::string problem = path_problem(reference.repository, reference.registry); !problem.empty()) {
    throw refuse(problem);
  }
  if (const std::size_t length = reference.name().size(); length > kMaxNameLength) {
    throw refuse("the name " + std::string(reference.registry == kDefaultRegistry ? "(with docker.io/ added) " : "") +
                 "is " + std::to_string(length) + " characters, longer than the " + std::to_string(kMaxNameLength) +
                 " allowed");
  }
  if (tagged) {
    const std::string_view tag = name_and_tag.substr(colon + 1);
    if (std::string problem = tag_problem(tag); !problem.empty()) throw refuse(problem);
    reference.tag = tag;
  }
  if (at != std::string_view::npos) {
    if (digest.empty()) throw refuse("empty digest after \"@\"");
    // parse_digest echoes its input: give it the escaped form, which is the
    // same text for anything that could be a digest.
    const std::string shown = in_quotes(digest);
    try {
      reference.digest = parse_digest(std::string_view(shown).substr(1, shown.size() - 2)).string();
    } catch (const StorageError& error) {
      throw refuse(error.what());
    }
  }
  if (reference.tag.empty() && reference.digest.empty()) reference.tag = kDefaultTag;
  return reference;
}

bool is_loopback_registry(std::string_view registry) {
  if (registry == "::1") return true;
  const std::optional<HostPort> split = split_host_port(registry);
  if (!split || split->host.empty() || (split->has_port && !is_port(split->port))) return false;
  // inet_pton reads up to a NUL: "127.0.0.1\0.evil" must not pass.
  if (split->host.find('\0') != std::string_view::npos) return false;
  const std::string host(split->host);
  if (host.front() == '[') {
    in6_addr address{};
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &address) == 1 &&
           IN6_IS_ADDR_LOOPBACK(&address);
  }
  if (to_lower(host) == "localhost") return true;
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

}  // namespace deckhand::storage
