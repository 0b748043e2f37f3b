// The names inside a layer: checking and splitting an entry's path, and
// telling whiteouts (image-spec layer.md) from ordinary names. Pure string
// work; nothing here touches the filesystem.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace deckhand::storage {

// A checked path below the layer root. No component is empty, "." or "..";
// no components at all means the layer root itself.
struct EntryPath {
  std::vector<std::string> components;

  bool is_root() const { return components.empty(); }
  std::string joined() const;         // "a/b/c"; "" for the root
  std::string parent_joined() const;  // "a/b"; "" when the parent is the root
  const std::string& base() const { return components.back(); }  // not for the root
};

// Splits `path` (an entry's name or its hard link target). "./" prefixes,
// "." components, repeated and trailing slashes are dropped, as tar writers
// differ in them. Refused (StorageError corrupt naming `entry_name`; `role`
// says which of its names, "name" or "hard link target"): empty, absolute,
// any ".." component, a component longer than NAME_MAX or a path longer
// than PATH_MAX (the kernel could not resolve it).
EntryPath parse_entry_path(std::string_view path, std::string_view entry_name, std::string_view role);

enum class NameKind {
  ordinary,        // create the entry under its name
  whiteout,        // ".wh.<name>": hide <name> of the lower layers
  opaque_marker,   // ".wh..wh..opq": hide all lower contents of the directory
};

struct ClassifiedName {
  NameKind kind = NameKind::ordinary;
  std::string hidden;  // for a whiteout: the name it hides, in the same directory
};

// Classifies an entry path that is not the root. Refused (corrupt): ".wh."
// with no name, a whiteout of "." or "..", the other reserved ".wh..wh."
// names (aufs metadata, which no layer should carry), and a ".wh." name used
// as a directory ("a/.wh.b/c"), since a whiteout is never created as itself.
// ".wh..profile" is the whiteout of ".profile" and is fine.
ClassifiedName classify_entry_path(const EntryPath& path, std::string_view entry_name);

}  // namespace deckhand::storage
