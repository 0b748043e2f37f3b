// Applying a layer's entries to its directory, one at a time, with *at system
// calls on directory descriptors only. Each entry's parent is resolved (and
// missing parents created, one component at a time) through open_beneath,
// so nothing can be created, changed or followed outside the layer root: a
// path that meets a symlink, even one of this layer pointing inside it, is
// refused rather than followed.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "layer_entry.hpp"
#include "layer_names.hpp"
#include "layer_tar_reader.hpp"
#include "safe_fd.hpp"

namespace deckhand::storage {

class LayerEntryWriter {
 public:
  // Streams the current regular file's data into a sink (LayerTarReader::read_data).
  using DataReader = std::function<void(const LayerTarReader::DataSink&)>;

  // root_fd: the layer's directory, open O_RDONLY | O_DIRECTORY, borrowed.
  // max_bytes: the cap on the sum of regular file sizes; of this layer's,
  // or, with image_bytes, of every layer's that charges that counter.
  LayerEntryWriter(int root_fd, uint64_t max_bytes, std::atomic<uint64_t>* image_bytes = nullptr);

  // Applies one entry (see layer_unpack.hpp for what is kept and refused).
  // Throws StorageError: corrupt (refused entry), exhausted (max_bytes, or a
  // full disk), internal (an unexpected system failure).
  void apply(const LayerEntry& entry, const DataReader& read_data);

  // Applies the directories' modes and times, deepest first, once every
  // entry has been written, so that a read-only or backdated directory can
  // still receive its contents first.
  void finish();

  uint64_t unpacked_bytes() const { return unpacked_bytes_; }

 private:
  struct DirectoryTimesAndMode {
    std::string entry_name;
    uint32_t mode;
    timespec atime;
    timespec mtime;
  };

  Fd open_parent(const EntryPath& path, const std::string& entry_name);
  void create_implied_directory(int parent_fd, const std::string& name, const std::string& entry_name);
  // Runs `create` (which returns 0 or an errno); if the name is taken,
  // removes what is there (a whole directory tree if need be) and runs it
  // once more. Any remaining failure throws, with `action` in the message.
  void create_replacing(int parent_fd, const std::string& relative_path, const std::string& name,
                        const std::string& entry_name, const std::string& action, const std::function<int()>& create);
  void remove_existing(int parent_fd, const std::string& relative_path, const std::string& name,
                       const std::string& entry_name);
  void forget_directories_under(const std::string& relative_path);

  void apply_root(const LayerEntry& entry);
  void mark_opaque(int directory_fd, const std::string& entry_name);
  void write_whiteout(int parent_fd, const EntryPath& path, const std::string& hidden, const std::string& entry_name);
  void write_directory(int parent_fd, const EntryPath& path, const LayerEntry& entry);
  void write_regular(int parent_fd, const EntryPath& path, const LayerEntry& entry, const DataReader& read_data);
  void write_symlink(int parent_fd, const EntryPath& path, const LayerEntry& entry);
  void write_hardlink(int parent_fd, const EntryPath& path, const LayerEntry& entry);
  void write_special(int parent_fd, const EntryPath& path, const LayerEntry& entry);

  int root_fd_;
  uint64_t max_bytes_;
  uint64_t unpacked_bytes_ = 0;
  std::atomic<uint64_t>* image_bytes_;  // shared with the image's other layers, or null
  // Directories written by the layer ("" is the root), whose mode and times
  // wait for finish(). Keyed by path, so a replaced subtree is one range.
  std::map<std::string, DirectoryTimesAndMode> directories_;
};

}  // namespace deckhand::storage
