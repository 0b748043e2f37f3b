// The overlay mounts of this mount namespace, read from /proc/self/mountinfo:
// where each is mounted and which lower directories it stacks, so tests can
// see what the kernel was really given.
#pragma once

#include <string>
#include <vector>

namespace deckhand::test {

struct OverlayMount {
  std::string mount_point;
  std::vector<std::string> lower_dirs;  // as mountinfo lists them (top first)
  std::string upper_dir;
  bool readonly = false;  // the mount (not the superblock) is read-only
};

// Every overlay mount whose mount point is `root` or below it.
std::vector<OverlayMount> overlay_mounts_under(const std::string& root);

}  // namespace deckhand::test
