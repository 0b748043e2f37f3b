// Which driver a host needs: v2 when the root is a cgroup2 mount.
#include <linux/magic.h>
#include <sys/vfs.h>

#include <cerrno>

#include "cgroups/cgroup_internal.hpp"

namespace deckhand::runtime {

std::unique_ptr<CgroupDriver> detect_cgroup_driver(const std::string& root) {
  struct statfs fs {};
  if (::statfs(root.c_str(), &fs) != 0) cgroup_detail::fail("cannot inspect the cgroup root", root, errno);
  if (fs.f_type == CGROUP2_SUPER_MAGIC) return make_cgroup_v2_driver(root);
  return make_cgroup_v1_driver(root);
}

}  // namespace deckhand::runtime
