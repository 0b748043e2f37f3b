// Seccomp for the container's process: the OCI linux.seccomp object as a
// model, the RuntimeDefault profile, and the split between compiling (in the
// monitor, with libseccomp: may allocate and throw) and installing (in the
// freshly cloned child: one raw syscall, no allocation).
#pragma once

#include <linux/filter.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "spec.hpp"

namespace deckhand::runtime {

// OCI linux.seccomp -> model. Refuses, with a SpecError naming the field:
// unknown fields; listenerPath / listenerMetadata (seccomp notify is not
// supported); flags other than SECCOMP_FILTER_FLAG_TSYNC / _SPEC_ALLOW / _LOG;
// actions other than SCMP_ACT_ALLOW / _ERRNO / _KILL / _KILL_PROCESS /
// _KILL_THREAD / _TRAP / _LOG (so _TRACE and _NOTIFY too); errnoRet on an
// action other than SCMP_ACT_ERRNO, or above 4095; unknown architectures;
// unknown comparison operators; arg index above 5; valueTwo on an operator
// other than SCMP_CMP_MASKED_EQ; values of the wrong JSON type.
// TSYNC is accepted and has nothing to do (the container's init is single
// threaded). SPEC_ALLOW and LOG are accepted but the Seccomp model has no
// field to carry them yet, so they are not applied (see SeccompProgram::flags).
Seccomp parse_seccomp(const nlohmann::json& linux_seccomp);

// The RuntimeDefault profile, in effect Moby's default.json for a container
// whose capability set is `effective_capabilities` (Docker and containerd pass
// the bounding set; for their profiles the two are the same list): default
// ERRNO(EPERM); the allow-list; socket without AF_ALG/AF_VSOCK; personality
// limited to the five harmless values; clone without namespace flags and
// clone3 -> ENOSYS unless CAP_SYS_ADMIN; the capability-gated groups.
// Architectures: x86_64 + x86 + x32 on x86_64, aarch64 + arm on aarch64,
// the native one elsewhere. seccomp_default.cpp has the lists and the places
// where this differs from Moby.
Seccomp default_seccomp_profile(const std::vector<int>& effective_capabilities);

// The names the default profile never allows, whatever the capabilities
// (keyrings, kexec, swap, io_uring, userfaultfd, pivot_root, ...): for tests
// and documentation.
std::vector<std::string> default_seccomp_never_allowed();

// A compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER).
struct SeccompProgram {
  std::vector<struct sock_filter> instructions;
  // SECCOMP_FILTER_FLAG_* passed to seccomp(2). compile_seccomp leaves it 0
  // until the Seccomp model carries the spec's flags.
  unsigned int flags = 0;
  // Names in the profile libseccomp does not know for the native architecture
  // (newer than the library); skipped, as runc does. For diagnostics.
  std::vector<std::string> unknown_syscalls;
};

// Compiles in the parent with libseccomp: one filter for every listed
// architecture plus the native one, one rule per syscall name (a rule whose
// conditions repeat an argument index becomes one rule per condition, i.e. OR,
// as in runc; a rule whose action equals the default action is dropped, as
// libseccomp refuses it). Unless the default action is ALLOW, LOG or
// ERRNO(ENOSYS), the program gets runc's "ENOSYS stub" in front: a syscall
// numbered above every syscall the profile names (so newer than the profile)
// fails with ENOSYS instead of the default action, so that libc falls back to
// an older call (fchmodat2 -> fchmodat, ...). Throws SpecError naming the rule
// libseccomp refused or the field that is invalid.
SeccompProgram compile_seccomp(const Seccomp& profile);

// In the child: seccomp(SECCOMP_SET_MODE_FILTER, program.flags, &prog) by
// syscall(2). Returns 0 or -errno (-EINVAL for an empty or oversized program).
// Needs no_new_privs or CAP_SYS_ADMIN in the effective set (the caller's job).
int install_seccomp(const SeccompProgram& program) noexcept;

}  // namespace deckhand::runtime
