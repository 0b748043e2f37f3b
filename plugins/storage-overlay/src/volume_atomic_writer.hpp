// The kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go): the files
// of a configMap, secret, downwardAPI or projected volume are replaced as a
// set, so a reader sees the old set or the new one, never a mix.
//
//   <dir>/..2026_11_28_01_02_03.123456789/   one generation of the files
//   <dir>/..data -> ..2026_11_28_01_02_03.123456789
//   <dir>/<top-level name> -> ..data/<top-level name>
//
// A new generation is written beside the current one and ..data is switched
// to it by renaming a new symlink over it (one atomic rename). A reader that
// opens ..data once and reads every file relative to it sees one generation.
#pragma once

#include <map>
#include <string>

#include "volumes.hpp"

namespace deckhand::storage {

// Throws StorageError(invalid) naming the first unusable file name (empty,
// absolute, a "..", "." or empty component, starting with "..", a component
// over 255 bytes, over 4096 bytes in all, a NUL, a name that is both a file
// and a directory) or mode (above 0777).
void check_projected_files(const std::map<std::string, ProjectedFile>& files);

// Makes `directory` (which must exist) hold exactly `files`, atomically as
// described above. Unchanged contents and modes write nothing new. Removes
// the user-visible names that are no longer in the set and every older
// generation directory.
void write_projection(const std::string& directory, const std::map<std::string, ProjectedFile>& files);

}  // namespace deckhand::storage
