#include "layer_tar_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <type_traits>

#include "layer_errors.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {

static_assert(std::is_same_v<la_ssize_t, long>, "read_piece must match archive_read_callback");

namespace {

// libarchive converts pax names (UTF-8 by the standard) to the charset of the
// current locale, and in the C locale it warns on, or mangles, every
// non-ASCII name. Under a UTF-8 LC_CTYPE no conversion happens, so names
// arrive as the bytes stored. uselocale() changes this thread only, for the
// duration of one libarchive call.
class Utf8NamesScope {
 public:
  Utf8NamesScope() {
    static const locale_t utf8 = [] {
      locale_t made = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
      if (made == static_cast<locale_t>(0)) made = newlocale(LC_CTYPE_MASK, "C.utf8", static_cast<locale_t>(0));
      return made;
    }();
    // Without a UTF-8 locale libarchive warns on non-ASCII names, and a
    // warning refuses the layer (corrupt) rather than unpacking wrong names.
    if (utf8 != static_cast<locale_t>(0)) previous_ = uselocale(utf8);
  }
  ~Utf8NamesScope() {
    if (previous_ != static_cast<locale_t>(0)) uselocale(previous_);
  }
  Utf8NamesScope(const Utf8NamesScope&) = delete;
  Utf8NamesScope& operator=(const Utf8NamesScope&) = delete;

 private:
  locale_t previous_ = static_cast<locale_t>(0);
};

std::string name_of(struct archive_entry* entry) {
  const char* name = archive_entry_pathname(entry);
  if (name == nullptr) name = archive_entry_pathname_utf8(entry);
  return name != nullptr ? name : "";
}

timespec timespec_of(int64_t seconds, long nanoseconds) {
  timespec time{};
  time.tv_sec = static_cast<time_t>(seconds);
  time.tv_nsec = nanoseconds;
  return time;
}

LayerEntry entry_of(struct archive_entry* raw) {
  LayerEntry entry;
  entry.name = name_of(raw);
  const char* hardlink = archive_entry_hardlink(raw);
  if (hardlink != nullptr) {
    // Checked first: a pax hard link with a body also reports a regular type.
    entry.type = EntryType::hardlink;
    entry.link_target = hardlink;
  } else {
    switch (archive_entry_filetype(raw)) {
      case AE_IFREG:
        entry.type = EntryType::regular;
        break;
      case AE_IFDIR:
        entry.type = EntryType::directory;
        break;
      case AE_IFLNK: {
        entry.type = EntryType::symlink;
        const char* target = archive_entry_symlink(raw);
        entry.link_target = target != nullptr ? target : "";
        break;
      }
      case AE_IFCHR:
        entry.type = EntryType::char_device;
        break;
      case AE_IFBLK:
        entry.type = EntryType::block_device;
        break;
      case AE_IFIFO:
        entry.type = EntryType::fifo;
        break;
      default:
        refuse_entry(entry.name, "unknown entry type (file type bits 0" +
                                     std::to_string(archive_entry_filetype(raw) >> 12) + " in the mode)");
    }
  }
  entry.mode = archive_entry_perm(raw) & 07777;
  entry.uid = archive_entry_uid(raw);
  entry.gid = archive_entry_gid(raw);
  entry.mtime = timespec_of(archive_entry_mtime(raw), archive_entry_mtime_nsec(raw));
  entry.atime = archive_entry_atime_is_set(raw) != 0
                    ? timespec_of(archive_entry_atime(raw), archive_entry_atime_nsec(raw))
                    : entry.mtime;
  const int64_t size = archive_entry_size(raw);
  entry.size = size > 0 ? static_cast<uint64_t>(size) : 0;
  if (entry.type == EntryType::char_device || entry.type == EntryType::block_device) {
    // The broken-down numbers, not archive_entry_rdev(), which would already
    // have squeezed out-of-range values into a dev_t.
    entry.device_major = archive_entry_rdevmajor(raw);
    entry.device_minor = archive_entry_rdevminor(raw);
  }
  archive_entry_xattr_reset(raw);
  const char* xattr_name = nullptr;
  const void* xattr_value = nullptr;
  std::size_t xattr_size = 0;
  while (archive_entry_xattr_next(raw, &xattr_name, &xattr_value, &xattr_size) == ARCHIVE_OK) {
    entry.xattrs.emplace_back(xattr_name != nullptr ? xattr_name : "",
                              std::string(static_cast<const char*>(xattr_value), xattr_size));
  }
  return entry;
}

}  // namespace

LayerTarReader::LayerTarReader(Pieces pieces) : pieces_(std::move(pieces)) {
  Utf8NamesScope names;
  archive_ = archive_read_new();
  if (archive_ == nullptr) throw StorageError(Failure::internal, "cannot create a libarchive reader");
  // The tar format alone and no filter: a compressed or foreign archive
  // format in the plain stream is refused, never interpreted.
  if (archive_read_support_format_tar(archive_) != ARCHIVE_OK ||
      archive_read_open(archive_, this, nullptr, &LayerTarReader::read_piece, nullptr) != ARCHIVE_OK) {
    // The destructor does not run for a constructor that throws.
    try {
      // libarchive reads the first header here to recognise the format.
      fail("the layer is not a tar archive (or its first header is damaged)");
    } catch (...) {
      archive_read_free(std::exchange(archive_, nullptr));
      throw;
    }
  }
}

LayerTarReader::~LayerTarReader() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

long LayerTarReader::read_piece(struct archive* archive, void* self, const void** buffer) {
  auto* reader = static_cast<LayerTarReader*>(self);
  // No exception may unwind through libarchive's C frames: keep it, report a
  // fatal read error, and rethrow it once libarchive has returned.
  try {
    const std::string_view piece = reader->pieces_();
    *buffer = piece.data();
    return static_cast<long>(piece.size());
  } catch (...) {
    reader->pending_ = std::current_exception();
    archive_set_error(archive, EIO, "reading the layer stream failed");
    return ARCHIVE_FATAL;
  }
}

void LayerTarReader::fail(const std::string& context) {
  if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
  const char* reason = archive_ != nullptr ? archive_error_string(archive_) : nullptr;
  throw StorageError(Failure::corrupt, context + ": " + (reason != nullptr ? reason : "libarchive gave no reason"));
}

std::optional<LayerEntry> LayerTarReader::next() {
  Utf8NamesScope names;
  struct archive_entry* raw = nullptr;
  const int status = archive_read_next_header(archive_, &raw);
  if (status == ARCHIVE_EOF) {
    if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
    return std::nullopt;
  }
  // ARCHIVE_WARN is refused too: libarchive warns when it ignores a malformed
  // pax record or too many special headers, so the entry may not be what the
  // layer's author meant.
  if (status != ARCHIVE_OK) {
    fail(last_name_.empty() ? std::string("the layer's tar stream is broken at its first entry")
                            : "the layer's tar stream is broken after entry " + quote_entry_name(last_name_));
  }
  LayerEntry entry = entry_of(raw);
  last_name_ = entry.name;
  return entry;
}

void LayerTarReader::read_data(const DataSink& sink) {
  for (;;) {
    const void* block = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int status = 0;
    {
      Utf8NamesScope names;
      status = archive_read_data_block(archive_, &block, &size, &offset);
    }
    if (status == ARCHIVE_EOF) return;
    if (status != ARCHIVE_OK || offset < 0) {
      fail("the layer's tar stream is broken inside the data of entry " + quote_entry_name(last_name_));
    }
    sink(static_cast<uint64_t>(offset), std::string_view(static_cast<const char*>(block), size));
  }
}

}  // namespace deckhand::storage
