// What a directory holds, as tests compare it: every entry below a root with
// its kind and content, the bytes a tree occupies, a file's sha256.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace deckhand::test {

// Relative path -> "dir", file_entry(content), "symlink:<target>" (symlinks
// are not followed) or "other".
std::map<std::string, std::string> file_tree(const std::string& root);

// How file_tree shows a regular file: "file:<content>" for up to 128 bytes,
// "file:<size> bytes, sha256:<hex>" above (failure messages stay readable).
std::string file_entry(const std::string& content);

// The bytes of the regular files below `root` (each inode counted once).
uint64_t tree_bytes(const std::string& root);

// "sha256:<hex>" of a file's contents, read in pieces, and of bytes in memory.
std::string file_sha256(const std::string& path);
std::string bytes_sha256(const std::string& bytes);

}  // namespace deckhand::test
