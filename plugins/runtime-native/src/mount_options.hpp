// OCI mount options → mount(2) flags, propagation flags and the data string.
#pragma once

#include <string>
#include <vector>

namespace deckhand::runtime {

struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ... (applied at mount or remount)
  unsigned long clear = 0;        // flags an option turned off explicitly (rw, suid, ...)
  unsigned long propagation = 0;  // MS_PRIVATE, MS_SLAVE, ... (| MS_REC)
  bool recursive_bind = false;    // rbind
  std::string data;               // filesystem options: mode=755,size=65536k,...
};

MountOptions parse_mount_options(const std::vector<std::string>& options);

// The MS_* flags of the mount that holds `path` (statvfs), for remounts that
// must keep the locked nosuid/nodev/noexec bits. Returns 0 if unknown.
unsigned long current_mount_flags(const char* path);

}  // namespace deckhand::runtime
