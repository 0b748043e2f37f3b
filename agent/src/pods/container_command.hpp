// What a container's process runs as, the way the kubelet and containerd's
// CRI plugin decide it: its arguments (command/args over the image's
// Entrypoint/Cmd, with $(VAR) references expanded), its environment (the
// image's, then the container's env with the downward API fields), and its
// user and groups (runAsUser/runAsGroup over the image's User, names looked
// up in the root filesystem's /etc/passwd and /etc/group, runAsNonRoot
// enforced). oci_spec.hpp puts these into a config.json.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pods/pod.hpp"

namespace deckhand::pods {

// A container that cannot be created as configured: the user's mistake, not
// the node's. `reason` is the container status reason the kubelet reports:
// "CreateContainerConfigError" for what the kubelet itself refuses (runAsNonRoot,
// a bad subPath, a missing volume), "CreateContainerError" for what containerd
// refuses (no command, a user the image does not have).
class ContainerConfigError : public std::runtime_error {
 public:
  ContainerConfigError(std::string reason, const std::string& message)
      : std::runtime_error(message), reason_(std::move(reason)) {}
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

inline constexpr const char* kCreateContainerConfigError = "CreateContainerConfigError";
inline constexpr const char* kCreateContainerError = "CreateContainerError";

// Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion): $(NAME)
// is replaced by vars[NAME] when defined and kept as written otherwise; $$ is
// a literal $; any other $ (and an unclosed "$(") stays as it is.
std::string expand_references(std::string_view text, const std::map<std::string, std::string>& vars);

// The downward API values a container's env may refer to (valueFrom.fieldRef).
struct PodFieldValues {
  std::string pod_ip;
  std::string host_ip;
  std::string node_name;
};

using EnvList = std::vector<std::pair<std::string, std::string>>;

// The container's env as the kubelet resolves it (kubelet_pods.go
// makeEnvironmentVariables): values expanded against the variables defined
// before them, fieldRefs filled in; a name given twice keeps its first
// position and its last value.
EnvList resolve_container_env(const Pod& pod, const Container& container, const PodFieldValues& fields);

// The image's part of the command (OCI image config Entrypoint and Cmd).
struct ImageCommand {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
};

// process.args: command and args expanded against `env` (kubelet
// ExpandContainerCommandAndArgs), then combined with the image's as
// containerd's WithProcessArgs does: command replaces the Entrypoint and
// drops the Cmd; args alone replace the Cmd. Throws ContainerConfigError
// (CreateContainerError, "no command specified") when nothing is left.
std::vector<std::string> container_process_args(const Container& container, const EnvList& env,
                                                const ImageCommand& image);

// containerd's replaceOrAppendEnvValues: each override "K=V" replaces K in
// place or is appended; a bare "K" removes K.
std::vector<std::string> merge_env(const std::vector<std::string>& base, const std::vector<std::string>& overrides);

// process.user.
struct ProcessUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
};

// The user a container runs as (kubelet getImageUser, verifyRunAsNonRoot and
// determineEffectiveSecurityContext; containerd WithUser, WithAdditionalGIDs,
// WithSupplementalGroups): runAsUser (container over pod) or else the image's
// User, whose group part Kubernetes drops (kubernetes#61967); runAsGroup;
// a gid and group memberships from the root filesystem's /etc/passwd and
// /etc/group when `root_path` has them; then fsGroup and supplementalGroups.
// Throws ContainerConfigError with the kubelet's runAsNonRoot messages, and
// for a user name the image does not define or an id outside 0..2^31-1.
ProcessUser resolve_process_user(const Pod& pod, const Container& container, const std::string& image_user,
                                 const std::string& root_path);

// /etc/passwd and /etc/group entries (name:x:id:... lines); malformed lines
// are skipped, as libc and runc's user package do.
struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};
std::vector<PasswdEntry> parse_passwd(std::string_view text);
std::vector<GroupEntry> parse_group(std::string_view text);

// A file of the container's root filesystem, read without leaving it:
// symlinks resolve inside `root_path` (openat2 RESOLVE_IN_ROOT), only a
// regular file of at most 4 MiB is read. nullopt when `root_path` is not an
// absolute path or the file is not there; throws ContainerConfigError
// naming the file for anything else (not a regular file, too big, EIO).
std::optional<std::string> read_rootfs_file(const std::string& root_path, const std::string& relative_path);

}  // namespace deckhand::pods
