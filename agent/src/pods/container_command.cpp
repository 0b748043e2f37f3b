// A container's process: args, env and user, as the kubelet and containerd's
// CRI plugin build them (see container_command.hpp for the sources).
#include "pods/container_command.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>

#include "pods/pod_strings.hpp"

namespace deckhand::pods {
namespace {

constexpr int64_t kMaxId = 2147483647;             // containerd refuses more (CVE-2024-40635)
constexpr std::size_t kMaxRootfsFile = 4u << 20;   // /etc/passwd and /etc/group

// Go's strconv.ParseInt(text, 10, 64): an optional sign, then digits only.
std::optional<int64_t> parse_int64(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return std::nullopt;
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint32_t> parse_id(std::string_view text) {
  const std::optional<int64_t> value = parse_int64(text);
  if (!value || *value < 0 || *value > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<uint32_t>(*value);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t at = text.find(separator); at != std::string_view::npos; at = text.find(separator, start)) {
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
  parts.push_back(text.substr(start));
  return parts;
}

// Lines without surrounding blanks; empty ones left out.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::string_view line : split(text, '\n')) {
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    const std::size_t last = line.find_last_not_of(" \t\r");
    lines.push_back(line.substr(first, last - first + 1));
  }
  return lines;
}

std::string field_value(const Pod& pod, FieldRef field, const PodFieldValues& fields) {
  switch (field) {
    case FieldRef::pod_name: return pod.metadata.name;
    case FieldRef::pod_namespace: return pod.metadata.namespace_;
    case FieldRef::pod_uid: return pod.metadata.uid;
    case FieldRef::pod_ip: return fields.pod_ip;
    case FieldRef::node_name: return fields.node_name;
    case FieldRef::host_ip: return fields.host_ip;
    // The model has no serviceAccountName; the API server defaults it so.
    case FieldRef::service_account_name: return "default";
  }
  return {};
}

// kubelet's format.Pod, as its messages quote it (%q).
std::string pod_description(const Pod& pod) {
  return quote(pod.metadata.name + "_" + pod.metadata.namespace_ + "(" + pod.metadata.uid + ")");
}

template <typename T>
std::optional<T> effective(const Container& container, const Pod& pod, std::optional<T> SecurityContext::*in_container,
                           std::optional<T> PodSecurityContext::*in_pod) {
  if (container.security_context && (*container.security_context).*in_container) {
    return (*container.security_context).*in_container;
  }
  if (pod.spec.security_context) return (*pod.spec.security_context).*in_pod;
  return std::nullopt;
}

uint32_t group_id(int64_t value, const char* field) {
  if (value < 0 || value > kMaxId) {
    throw ContainerConfigError(kCreateContainerConfigError,
                               std::string(field) + " " + std::to_string(value) + " is out of range (0-2147483647)");
  }
  return static_cast<uint32_t>(value);
}

}  // namespace

std::string expand_references(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text[at] != '$' || at + 1 == text.size()) {
      out += text[at];
      continue;
    }
    const char next = text[at + 1];
    if (next == '$') {  // "$$": an escaped operator
      out += '$';
      ++at;
    } else if (next == '(') {
      const std::size_t close = text.find(')', at + 2);
      if (close == std::string_view::npos) {  // unclosed: kept as written
        out += "$(";
        ++at;
        continue;
      }
      const std::string name(text.substr(at + 2, close - at - 2));
      const auto found = vars.find(name);
      out += found != vars.end() ? found->second : "$(" + name + ")";
      at = close;
    } else {  // "$x": not a reference
      out += '$';
      out += next;
      ++at;
    }
  }
  return out;
}

EnvList resolve_container_env(const Pod& pod, const Container& container, const PodFieldValues& fields) {
  EnvList env;
  std::map<std::string, std::string> defined;
  for (const EnvVar& var : container.env) {
    std::string value;
    if (var.field_ref) {
      value = field_value(pod, *var.field_ref, fields);
    } else if (!var.value.empty()) {
      value = expand_references(var.value, defined);
    }
    defined[var.name] = value;
    const auto same = std::find_if(env.begin(), env.end(), [&](const auto& item) { return item.first == var.name; });
    if (same != env.end()) {
      same->second = value;
    } else {
      env.emplace_back(var.name, value);
    }
  }
  return env;
}

std::vector<std::string> container_process_args(const Container& container, const EnvList& env,
                                                const ImageCommand& image) {
  const std::map<std::string, std::string> vars(env.begin(), env.end());
  std::vector<std::string> command, args;
  for (const std::string& item : container.command) command.push_back(expand_references(item, vars));
  for (const std::string& item : container.args) args.push_back(expand_references(item, vars));
  // containerd WithProcessArgs (from Moby's daemon/commit.go): an Entrypoint
  // of [""] means "reset the entrypoint".
  if (command.empty()) {
    if (args.empty()) args = image.cmd;
    if (!(image.entrypoint.size() == 1 && image.entrypoint[0].empty())) command = image.entrypoint;
  }
  if (command.empty() && args.empty()) throw ContainerConfigError(kCreateContainerError, "no command specified");
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

std::vector<std::string> merge_env(const std::vector<std::string>& base, const std::vector<std::string>& overrides) {
  std::vector<std::optional<std::string>> results;
  std::map<std::string, std::size_t> position;
  auto key_of = [](const std::string& item) { return item.substr(0, item.find('=')); };
  for (const std::string& item : base) {
    position[key_of(item)] = results.size();
    results.emplace_back(item);
  }
  for (const std::string& item : overrides) {
    const std::string key = key_of(item);
    const auto found = position.find(key);
    if (item.find('=') == std::string::npos) {  // "KEY": unset
      if (found != position.end()) results[found->second].reset();
    } else if (found != position.end()) {
      results[found->second] = item;
    } else {
      position[key] = results.size();
      results.emplace_back(item);
    }
  }
  std::vector<std::string> merged;
  for (auto& item : results) {
    if (item) merged.push_back(std::move(*item));
  }
  return merged;
}

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> entries;
  for (std::string_view line : lines_of(text)) {
    const std::vector<std::string_view> parts = split(line, ':');
    if (parts.size() < 4 || parts[0].empty()) continue;
    const std::optional<uint32_t> uid = parse_id(parts[2]), gid = parse_id(parts[3]);
    if (uid && gid) entries.push_back({std::string(parts[0]), *uid, *gid});
  }
  return entries;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> entries;
  for (std::string_view line : lines_of(text)) {
    const std::vector<std::string_view> parts = split(line, ':');
    if (parts.size() < 3 || parts[0].empty()) continue;
    const std::optional<uint32_t> gid = parse_id(parts[2]);
    if (!gid) continue;
    GroupEntry entry{std::string(parts[0]), *gid, {}};
    if (parts.size() > 3) {
      for (std::string_view member : split(parts[3], ',')) {
        if (!member.empty()) entry.members.emplace_back(member);
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::optional<std::string> read_rootfs_file(const std::string& root_path, const std::string& relative_path) {
  if (root_path.empty() || root_path.front() != '/') return std::nullopt;
  const std::string what = relative_path + " of the root filesystem " + root_path;
  auto fail = [&what](const std::string& problem) {
    return ContainerConfigError(kCreateContainerError, "read " + what + ": " + problem);
  };
  const int root = ::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw fail(std::strerror(errno));
  }
  // Symlinks in an image resolve inside the image, never to the host's files;
  // O_PATH first so that opening a device node or FIFO has no side effect.
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const int path_fd = static_cast<int>(::syscall(SYS_openat2, root, relative_path.c_str(), &how, sizeof how));
  const int open_errno = errno;
  ::close(root);
  if (path_fd < 0) {
    if (open_errno == ENOENT || open_errno == ENOTDIR) return std::nullopt;
    throw fail(std::strerror(open_errno));
  }
  struct stat status {};
  if (::fstat(path_fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(path_fd);
    throw fail("not a regular file");
  }
  const std::string reopen = "/proc/self/fd/" + std::to_string(path_fd);
  const int fd = ::open(reopen.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  const int reopen_errno = errno;
  ::close(path_fd);
  if (fd < 0) throw fail(std::strerror(reopen_errno));
  std::string content;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int read_errno = errno;
      ::close(fd);
      throw fail(std::strerror(read_errno));
    }
    if (got == 0) break;
    content.append(buffer, static_cast<std::size_t>(got));
    if (content.size() > kMaxRootfsFile) {
      ::close(fd);
      throw fail("larger than 4 MiB");
    }
  }
  ::close(fd);
  return content;
}

ProcessUser resolve_process_user(const Pod& pod, const Container& container, const std::string& image_user,
                                 const std::string& root_path) {
  const std::optional<int64_t> run_as_user =
      effective(container, pod, &SecurityContext::run_as_user, &PodSecurityContext::run_as_user);
  const std::optional<int64_t> run_as_group =
      effective(container, pod, &SecurityContext::run_as_group, &PodSecurityContext::run_as_group);
  const std::optional<bool> run_as_non_root =
      effective(container, pod, &SecurityContext::run_as_non_root, &PodSecurityContext::run_as_non_root);

  // containerd getUserFromImage and kubelet getImageUser: the group part is
  // dropped; no user at all means root.
  const std::string image_user_part = image_user.substr(0, image_user.find(':'));
  std::optional<int64_t> image_uid = parse_int64(image_user_part);
  const std::string image_username = image_uid ? "" : image_user_part;
  if (!image_uid && image_username.empty()) image_uid = 0;

  // kubelet security_context_others.go verifyRunAsNonRoot.
  if (run_as_non_root.value_or(false)) {
    const std::string where = "(pod: " + pod_description(pod) + ", container: " + container.name + ")";
    if (run_as_user) {
      if (*run_as_user == 0) {
        throw ContainerConfigError(kCreateContainerConfigError, "container's runAsUser breaks non-root policy " + where);
      }
    } else if (image_uid && *image_uid == 0) {
      throw ContainerConfigError(kCreateContainerConfigError,
                                 "container has runAsNonRoot and image will run as root " + where);
    } else if (!image_uid) {
      throw ContainerConfigError(kCreateContainerConfigError, "container has runAsNonRoot and image has non-numeric user (" +
                                                                  image_username + "), cannot verify user is non-root " +
                                                                  where);
    }
  }

  const std::optional<int64_t> uid = run_as_user ? run_as_user : image_uid;
  if (uid && (*uid < 0 || *uid > kMaxId)) {
    throw ContainerConfigError(kCreateContainerError,
                               "user ID " + std::to_string(*uid) + " is out of range (0-2147483647)");
  }
  const std::optional<std::string> passwd_text = read_rootfs_file(root_path, "etc/passwd");
  const std::vector<PasswdEntry> passwd = passwd_text ? parse_passwd(*passwd_text) : std::vector<PasswdEntry>{};

  // containerd WithUser: a name must be in the image's passwd; a uid without
  // a group takes its gid from there, or 0.
  ProcessUser user;
  std::string username;
  const PasswdEntry* entry = nullptr;
  for (const PasswdEntry& candidate : passwd) {
    if (uid ? candidate.uid == *uid : candidate.name == image_username) {
      entry = &candidate;
      break;
    }
  }
  if (uid) {
    user.uid = static_cast<uint32_t>(*uid);
    if (entry) username = entry->name;
  } else if (entry) {
    user.uid = entry->uid;
    username = entry->name;
  } else {
    throw ContainerConfigError(kCreateContainerError,
                               "unable to find user " + image_username + ": no matching entries in passwd file");
  }
  user.gid = run_as_group ? group_id(*run_as_group, "runAsGroup") : entry ? entry->gid : 0;

  // containerd WithAdditionalGIDs: the groups that list the user, with the
  // primary group first unless among them; then fsGroup and
  // supplementalGroups (kubelet's order), without repeats (mergeGids).
  if (!username.empty()) {
    if (const std::optional<std::string> group_text = read_rootfs_file(root_path, "etc/group")) {
      for (const GroupEntry& group : parse_group(*group_text)) {
        if (group.name != username &&
            std::find(group.members.begin(), group.members.end(), username) != group.members.end()) {
          user.additional_gids.push_back(group.gid);
        }
      }
    }
  }
  auto& gids = user.additional_gids;
  if (std::find(gids.begin(), gids.end(), user.gid) == gids.end()) gids.insert(gids.begin(), user.gid);
  if (pod.spec.security_context) {
    std::vector<int64_t> extra;
    if (pod.spec.security_context->fs_group) extra.push_back(*pod.spec.security_context->fs_group);
    const auto& supplemental = pod.spec.security_context->supplemental_groups;
    extra.insert(extra.end(), supplemental.begin(), supplemental.end());
    for (int64_t value : extra) {
      const uint32_t gid = group_id(value, "supplemental group");
      if (std::find(gids.begin(), gids.end(), gid) == gids.end()) gids.push_back(gid);
    }
  }
  return user;
}

}  // namespace deckhand::pods
