// Kubernetes' hostPath type check, as the kubelet does it before mounting.
#pragma once

#include <string>

namespace deckhand::storage {

// For type "" nothing is checked. DirectoryOrCreate makes a missing path
// (mkdir -p, mode 0755) and FileOrCreate a missing file (empty, mode 0644;
// its directory must exist); then, as for Directory, File, Socket,
// CharDevice and BlockDevice, what is at `path` (symlinks followed, like the
// kubelet's os.Stat) must be of that type. Throws StorageError(invalid) with
// the kubelet's words, e.g. "hostPath type check failed: /x is not a
// directory".
void check_host_path_type(const std::string& path, const std::string& type);

}  // namespace deckhand::storage
