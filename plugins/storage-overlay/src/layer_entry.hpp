// One entry of a layer's tar as the tar reader hands it to the tree writer:
// plain values, nothing checked yet (the writer refuses what it must).
#pragma once

#include <time.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace deckhand::storage {

enum class EntryType { regular, directory, symlink, hardlink, char_device, block_device, fifo };

const char* entry_type_name(EntryType type);

struct LayerEntry {
  std::string name;  // the bytes the archive holds, for messages and to be parsed
  EntryType type = EntryType::regular;
  uint32_t mode = 0;  // permission bits with setuid, setgid and sticky (07777)
  int64_t uid = 0;
  int64_t gid = 0;
  timespec atime{};  // the archive's atime where it has one, else the mtime
  timespec mtime{};
  uint64_t size = 0;        // a regular file's data bytes
  std::string link_target;  // a symlink's target (stored as-is) or a hard link's target entry
  uint64_t device_major = 0;
  uint64_t device_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // name, value
};

}  // namespace deckhand::storage
