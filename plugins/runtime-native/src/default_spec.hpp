// config.json templates with deckhand's defaults, as `runc spec` writes one:
// what `deckhand oci spec` writes and what the pod layer starts a container
// from. RuntimeDefault, Kubernetes' default for a pod that asks for nothing
// special: Docker's and containerd's 14 capabilities, the default seccomp
// profile, no_new_privs, containerd's masked and read-only paths, a device
// cgroup that denies all but the standard devices. Privileged, Kubernetes'
// privileged: true: every capability the runtime holds, no seccomp, nothing
// masked, /sys writable, every device allowed in the device cgroup. No
// rlimits: as with containerd, a container inherits the runtime's (the
// systemd unit sets LimitNOFILE).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "spec.hpp"

namespace deckhand::runtime {

enum class SpecProfile { runtime_default, privileged };

struct SpecTemplate {
  SpecProfile profile = SpecProfile::runtime_default;
  std::vector<std::string> args = {"sh"};
  std::string root_path = "rootfs";
  std::string hostname = "deckhand";
  // RuntimeDefault only: the capabilities the container will hold, when not
  // the default 14. The seccomp profile then allows the system calls they
  // gate (as containerd's default profile is built from the spec's
  // capabilities); the process's capabilities are these too.
  std::optional<std::vector<int>> capabilities;
};

nlohmann::json default_spec(const SpecTemplate& options);

// containerd's lists (SECURITY-BASELINE 1.4): 11 masked, 5 read-only.
const std::vector<std::string>& default_masked_paths();
const std::vector<std::string>& default_readonly_paths();

// The model back to OCI linux.seccomp JSON (parse_seccomp reads it again).
nlohmann::json seccomp_to_json(const Seccomp& profile);

}  // namespace deckhand::runtime
