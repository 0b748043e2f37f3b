// Removing a directory tree that untrusted input filled: an unpacked layer
// holds whatever its tar said, a container's upper directory whatever the
// container wrote, an emptyDir whatever the pod wrote (read-only
// directories, device nodes, symlinks to anywhere, immutable files, trees
// deeper than the file descriptor limit).
#pragma once

#include <string>
#include <vector>

namespace deckhand::storage {

// Removes `path` and everything below it. Never follows a symlink (a symlink
// is removed, its target untouched) and never enters another mount: a mount
// point below `path` is StorageError(precondition) naming it, so a forgotten
// bind mount cannot take the host's files with it. Directories without write
// permission are made writable, and immutable or append-only flags are
// cleared, where they stand in the way. Uses one open directory at a time,
// so depth is not limited by the descriptor limit. Missing is fine.
void remove_tree(const std::string& path);

// The names in an open directory, without "." and "..", read through a
// duplicate descriptor so the caller's offset is untouched. Throws
// StorageError(internal) naming `path` (only used in the message).
std::vector<std::string> list_directory(int directory_fd, const std::string& path);

}  // namespace deckhand::storage
