// Path resolution that stays below a directory: every lookup goes through
// openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
// so a symlink anywhere in the path, an absolute path or ".." that would
// climb out fails in the kernel instead of being followed. The unpacker uses
// nothing else to reach into a layer's directory.
#pragma once

#include <string>

namespace deckhand::storage {

// openat2(dir_fd, path, flags | O_CLOEXEC) resolved strictly beneath dir_fd
// as above; an empty path opens dir_fd itself ("."). Returns the new fd, or
// -errno: ELOOP when the path meets a symlink, EXDEV when it would leave
// dir_fd, ENOENT, ENOTDIR, ENAMETOOLONG as usual.
int open_beneath(int dir_fd, const std::string& path, int flags);

// Removes the directory `path` (relative to root_fd, resolved as above) and
// everything below it, without following any symlink inside it. Iterative
// and re-resolving each level from root_fd, so a deep tree costs neither
// recursion depth nor one open descriptor per level. Returns 0 or -errno.
int remove_tree_beneath(int root_fd, const std::string& path);

}  // namespace deckhand::storage
