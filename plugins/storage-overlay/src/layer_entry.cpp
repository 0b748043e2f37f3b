#include "layer_entry.hpp"

namespace deckhand::storage {

const char* entry_type_name(EntryType type) {
  switch (type) {
    case EntryType::regular:
      return "regular file";
    case EntryType::directory:
      return "directory";
    case EntryType::symlink:
      return "symlink";
    case EntryType::hardlink:
      return "hard link";
    case EntryType::char_device:
      return "character device";
    case EntryType::block_device:
      return "block device";
    case EntryType::fifo:
      return "fifo";
  }
  return "entry";
}

}  // namespace deckhand::storage
