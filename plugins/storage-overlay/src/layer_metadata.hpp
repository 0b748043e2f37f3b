// An entry's metadata: checking the values a layer declares, and applying
// owner, extended attributes, mode and times in the order the kernel needs.
// chown clears setuid/setgid and security.capability, so the owner comes
// first, then the xattrs, then the mode; writing into a directory changes
// its mtime, so times come last (for directories, after the whole layer).
#pragma once

#include <time.h>

#include <cstdint>
#include <string>

#include "layer_entry.hpp"

namespace deckhand::storage {

// Refused (corrupt): an owner id that is negative or not below 2^32 - 1 (the
// kernel reads (uid_t)-1 as "leave unchanged"); nanoseconds outside
// [0, 1e9); a device major above 4095 or minor above 2^20 - 1 (the kernel's
// dev_t would silently truncate them); an xattr in overlayfs's own
// "trusted.overlay." namespace, which would smuggle opaque directories,
// redirects or metacopy data past the whiteout rules.
void check_entry_metadata(const LayerEntry& entry);

// On an open regular file or directory (not an O_PATH descriptor).
void apply_owner(int fd, const LayerEntry& entry);
void apply_xattrs(int fd, const LayerEntry& entry);
void apply_mode(int fd, uint32_t mode, const std::string& entry_name);
void apply_times(int fd, const timespec& atime, const timespec& mtime, const std::string& entry_name);

// On a symlink, device or fifo `name` in the directory parent_fd, which is
// never opened: opening a device node can have effects, and a symlink would
// be followed. Nothing here follows a symlink.
void apply_owner_at(int parent_fd, const std::string& name, const LayerEntry& entry);
// Through lsetxattr on /proc/self/fd/<parent_fd>/<name>. "user." xattrs are
// skipped: the kernel allows them only on regular files and directories.
void apply_xattrs_at(int parent_fd, const std::string& name, const LayerEntry& entry);
void apply_mode_at(int parent_fd, const std::string& name, const LayerEntry& entry);  // not for symlinks
void apply_times_at(int parent_fd, const std::string& name, const LayerEntry& entry);

}  // namespace deckhand::storage
