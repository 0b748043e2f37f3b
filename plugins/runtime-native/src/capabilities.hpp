// Linux capabilities for the container's process: names and numbers, the
// RuntimeDefault set, and the split between preparing (in the monitor, may
// allocate and throw) and applying (in the freshly cloned child, raw syscalls
// only: no allocation, no exceptions, no locks).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec.hpp"

namespace deckhand::runtime {

// "CAP_CHOWN" -> 0. Exact, upper-case OCI spelling. Throws
// SpecError("unknown capability \"X\"") for anything else.
int capability_from_name(const std::string& name);

// 0 -> "CAP_CHOWN". A number this build has no name for (a newer kernel's
// capability) comes back as its decimal digits, as libcap's cap_to_name does.
std::string capability_name(int cap);

// The kernel's highest capability number (/proc/sys/kernel/cap_last_cap), read
// once; the compiled-in CAP_LAST_CAP if it cannot be read. Never above 63.
int last_capability();

// The 14 capabilities Docker and containerd grant by default (ascending).
std::vector<int> default_capabilities();

// Every capability the kernel knows, 0..last_capability().
std::vector<int> all_capabilities();

// The capabilities in this process's bounding set: all a container started
// from here can have (a privileged container gets these, as Kubernetes gives
// it every capability its runtime holds).
std::vector<int> bounding_capabilities();

// The five sets as bitmasks (bit n = capability n), ready for the child.
struct PreparedCapabilities {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
  int last_cap = 40;  // bounding-set drops go up to here
  // Ambient capabilities the spec asked for that are not both permitted and
  // inheritable: the kernel cannot raise them, so they are left out of
  // `ambient` (as runc does); the caller should warn about them.
  uint64_t skipped_ambient = 0;
};

// Validates and converts. Throws SpecError naming the field for a number
// outside 0..last_capability(), and for sets capset(2) would refuse anyway
// (found here instead of in the child, where the error is hard to report):
// effective not within permitted, inheritable not within bounding. Ambient
// capabilities the kernel cannot raise are moved to skipped_ambient.
PreparedCapabilities prepare_capabilities(const Capabilities& caps);

// In the child, after setresgid/setresuid (done with PR_SET_KEEPCAPS=1 by the
// caller, so permitted survived the uid change; effective did not):
//   1. capset(effective = current permitted) so CAP_SETPCAP can be used;
//   2. PR_CAPBSET_DROP every capability not in `bounding` still present;
//   3. capset(effective, permitted, inheritable), _LINUX_CAPABILITY_VERSION_3;
//   4. PR_CAP_AMBIENT_CLEAR_ALL, then PR_CAP_AMBIENT_RAISE each ambient one.
// Returns 0 or -errno of the first failing step. Uses only the stack and raw
// syscalls (errno is the only other memory written). Does not touch
// PR_SET_KEEPCAPS, securebits or no_new_privs.
int apply_capabilities(const PreparedCapabilities& caps) noexcept;

// What /proc/<pid>/status says about a process's privileges.
struct ProcessPrivileges {
  uint64_t effective = 0, permitted = 0, bounding = 0, inheritable = 0, ambient = 0;
  int no_new_privs = -1;  // -1 = line absent (kernels before 4.10)
  int seccomp_mode = -1;  // 0 off, 1 strict, 2 filter; -1 = line absent
};

// Parses the Cap{Eff,Prm,Bnd,Inh,Amb}, NoNewPrivs and Seccomp lines of
// /proc/<pid>/status text; other lines are ignored, missing ones keep their
// defaults. Throws std::runtime_error naming the line for a malformed value.
ProcessPrivileges parse_proc_status(const std::string& status_text);

}  // namespace deckhand::runtime
