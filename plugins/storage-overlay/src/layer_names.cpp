#include "layer_names.hpp"

#include <climits>

#include "layer_errors.hpp"

namespace deckhand::storage {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kReservedPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

std::string join_range(const std::vector<std::string>& components, std::size_t count) {
  std::string joined;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) joined += '/';
    joined += components[i];
  }
  return joined;
}

}  // namespace

std::string EntryPath::joined() const { return join_range(components, components.size()); }

std::string EntryPath::parent_joined() const {
  return join_range(components, components.empty() ? 0 : components.size() - 1);
}

EntryPath parse_entry_path(std::string_view path, std::string_view entry_name, std::string_view role) {
  const std::string prefix = std::string(role) + " ";
  if (path.empty()) refuse_entry(entry_name, "empty " + std::string(role));
  if (path.front() == '/') {
    refuse_entry(entry_name, prefix + "is absolute; layer paths are relative to the layer root");
  }
  EntryPath parsed;
  std::size_t length = 0;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view component = path.substr(start, end - start);
    start = end + 1;
    if (component.empty() || component == ".") continue;
    if (component == "..") refuse_entry(entry_name, prefix + "has a \"..\" component");
    if (component.size() > NAME_MAX) {
      refuse_entry(entry_name, prefix + "has a component longer than " + std::to_string(NAME_MAX) + " bytes");
    }
    length += component.size() + 1;
    parsed.components.emplace_back(component);
  }
  if (length >= PATH_MAX) {
    refuse_entry(entry_name, prefix + "is longer than " + std::to_string(PATH_MAX - 1) + " bytes");
  }
  return parsed;
}

ClassifiedName classify_entry_path(const EntryPath& path, std::string_view entry_name) {
  for (std::size_t i = 0; i + 1 < path.components.size(); ++i) {
    if (path.components[i].starts_with(kWhiteoutPrefix)) {
      refuse_entry(entry_name, "the whiteout name " + quote_entry_name(path.components[i]) +
                                   " is used as a directory; whiteouts are never created as themselves");
    }
  }
  const std::string& base = path.base();
  if (!base.starts_with(kWhiteoutPrefix)) return {};
  if (base == kOpaqueMarker) return {NameKind::opaque_marker, {}};
  if (base.starts_with(kReservedPrefix)) {
    refuse_entry(entry_name, "\".wh..wh.\" names are reserved (only \".wh..wh..opq\" is defined by the image spec)");
  }
  std::string hidden = base.substr(kWhiteoutPrefix.size());
  if (hidden.empty()) refuse_entry(entry_name, "whiteout with no name after \".wh.\"");
  if (hidden == "." || hidden == "..") refuse_entry(entry_name, "whiteout of \"" + hidden + "\"");
  return {NameKind::whiteout, std::move(hidden)};
}

}  // namespace deckhand::storage
