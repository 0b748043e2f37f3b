#include "resident_memory.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace deckhand::runtime {
namespace {

struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  bool writable = true;
  bool ours = false;       // a mapping of this program's file
  bool anonymous = false;  // holds copied-on-write pages
};

// /proc/self/smaps: a header line per mapping, then "Key: value kB" lines.
std::vector<Mapping> program_mappings() {
  std::vector<Mapping> out;
  struct stat program {};
  if (::stat("/proc/self/exe", &program) != 0) return out;
  FILE* smaps = std::fopen("/proc/self/smaps", "re");
  if (smaps == nullptr) return out;
  char line[512];
  Mapping current;
  bool have = false;
  while (std::fgets(line, sizeof line, smaps) != nullptr) {
    unsigned long start = 0, end = 0, offset = 0, inode = 0;
    unsigned major = 0, minor = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &start, &end, perms, &offset, &major, &minor, &inode) == 7) {
      if (have) out.push_back(current);
      current = Mapping{start, end, perms[1] == 'w',
                        inode == program.st_ino && makedev(major, minor) == program.st_dev, false};
      have = true;
    } else if (have && std::strncmp(line, "Anonymous:", 10) == 0) {
      current.anonymous = std::strtoul(line + 10, nullptr, 10) != 0;
    }
  }
  if (have) out.push_back(current);
  std::fclose(smaps);
  return out;
}

}  // namespace

void release_setup_memory() {
  for (const Mapping& mapping : program_mappings()) {
    if (!mapping.ours || mapping.writable || mapping.anonymous) continue;
    ::madvise(reinterpret_cast<void*>(mapping.start), mapping.end - mapping.start, MADV_DONTNEED);
  }
  ::malloc_trim(0);
}

}  // namespace deckhand::runtime
