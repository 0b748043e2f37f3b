// The devices every container gets (runtime-spec's default devices), as
// nodes in its /dev and as the device cgroup's allow rules.
#pragma once

#include "spec.hpp"

namespace deckhand::runtime {

struct DefaultDevice {
  const char* name;  // below /dev
  unsigned major;
  unsigned minor;
};

inline constexpr DefaultDevice kDefaultDevices[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                                                    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

// The spec's resources with its device rules followed by what every container
// needs: the default devices, /dev/ptmx, the pts instance and the spec's own
// devices, as runc appends them. No rules in the spec means "deny all" first.
// Unlike runc, no blanket "mknod any device" rule and no /dev/net/tun
// (SECURITY-BASELINE 1.7).
Resources resources_with_default_devices(const Spec& spec);

}  // namespace deckhand::runtime
