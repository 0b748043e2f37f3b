#include "capabilities.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace deckhand::runtime {
namespace {

// Index = capability number. Kept as a table (not libcap's cap_from_name) so
// the accepted spelling is exactly the OCI one and does not depend on which
// libcap the host has.
constexpr std::array<std::string_view, 41> kCapabilityNames = {
    "CAP_CHOWN",            "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",           "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",          "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",        "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",       "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",        "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",     "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",            "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",     "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",    "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
static_assert(CAP_CHOWN == 0 && CAP_NET_BIND_SERVICE == 10 && CAP_SYS_ADMIN == 21 && CAP_SETFCAP == 31);
static_assert(CAP_SYSLOG == 34 && CAP_PERFMON == 38 && CAP_BPF == 39 && CAP_CHECKPOINT_RESTORE == 40);

constexpr uint64_t bit(int cap) { return uint64_t{1} << cap; }

uint64_t to_mask(const std::vector<int>& caps, int last_cap, const char* field) {
  uint64_t mask = 0;
  for (int cap : caps) {
    if (cap < 0 || cap > last_cap) {
      throw SpecError(std::string("process.capabilities.") + field + ": capability " + std::to_string(cap) +
                      " is not supported by this kernel (cap_last_cap is " + std::to_string(last_cap) + ")");
    }
    mask |= bit(cap);
  }
  return mask;
}

// The first capability in `mask` (for error messages).
std::string first_name(uint64_t mask) {
  for (int cap = 0; cap < 64; ++cap) {
    if (mask & bit(cap)) return capability_name(cap);
  }
  return "?";
}

// prctl is variadic: pass every argument as unsigned long, or the kernel may
// see garbage in the upper halves (PR_CAP_AMBIENT requires exact zeros).
int prctl5(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) noexcept {
  return prctl(option, a2, a3, a4, a5);
}

}  // namespace

int capability_from_name(const std::string& name) {
  for (std::size_t cap = 0; cap < kCapabilityNames.size(); ++cap) {
    if (kCapabilityNames[cap] == name) return static_cast<int>(cap);
  }
  throw SpecError("unknown capability \"" + name + "\"");
}

std::string capability_name(int cap) {
  if (cap >= 0 && static_cast<std::size_t>(cap) < kCapabilityNames.size()) {
    return std::string(kCapabilityNames[static_cast<std::size_t>(cap)]);
  }
  return std::to_string(cap);
}

int last_capability() {
  static const int last = [] {
    int value = CAP_LAST_CAP;
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int read = -1;
    if (in >> read && read >= 0) value = read;
    return value > 63 ? 63 : value;
  }();
  return last;
}

std::vector<int> default_capabilities() {
  return {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,  CAP_FSETID,           CAP_KILL,
          CAP_SETGID, CAP_SETUID,       CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW,
          CAP_SYS_CHROOT, CAP_MKNOD,    CAP_AUDIT_WRITE, CAP_SETFCAP};
}

std::vector<int> bounding_capabilities() {
  std::vector<int> caps;
  for (int cap = 0; cap <= last_capability(); ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) caps.push_back(cap);
  }
  return caps;
}

std::vector<int> all_capabilities() {
  std::vector<int> caps;
  for (int cap = 0; cap <= last_capability(); ++cap) caps.push_back(cap);
  return caps;
}

PreparedCapabilities prepare_capabilities(const Capabilities& caps) {
  PreparedCapabilities out;
  out.last_cap = last_capability();
  out.bounding = to_mask(caps.bounding, out.last_cap, "bounding");
  out.effective = to_mask(caps.effective, out.last_cap, "effective");
  out.inheritable = to_mask(caps.inheritable, out.last_cap, "inheritable");
  out.permitted = to_mask(caps.permitted, out.last_cap, "permitted");
  out.ambient = to_mask(caps.ambient, out.last_cap, "ambient");

  // What capset(2) would refuse with EPERM.
  if (uint64_t extra = out.effective & ~out.permitted) {
    throw SpecError("process.capabilities.effective: " + first_name(extra) + " is not in the permitted set");
  }
  if (uint64_t extra = out.inheritable & ~out.bounding) {
    throw SpecError("process.capabilities.inheritable: " + first_name(extra) + " is not in the bounding set");
  }
  // The kernel raises an ambient capability only if it is permitted and
  // inheritable. `runc spec` lists ambient caps with no inheritable set, and
  // runc skips the ones it cannot raise (with a warning); so do we, or
  // runc's own default bundle would not run here (README.md, differences).
  out.skipped_ambient = out.ambient & ~(out.permitted & out.inheritable);
  out.ambient &= ~out.skipped_ambient;
  return out;
}

int apply_capabilities(const PreparedCapabilities& caps) noexcept {
  if (caps.last_cap < 0 || caps.last_cap > 63) return -EINVAL;

  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return -errno;

  // 1. setresuid() away from uid 0 emptied the effective set; CAP_SETPCAP is
  //    needed for PR_CAPBSET_DROP, so bring back everything still permitted.
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  header = {_LINUX_CAPABILITY_VERSION_3, 0};
  if (syscall(SYS_capset, &header, data) != 0) return -errno;

  // 2. Bounding set: drop only what is still there, so a process already
  //    without CAP_SETPCAP can still apply a set that needs no drops.
  for (int cap = 0; cap <= caps.last_cap; ++cap) {
    if (caps.bounding & bit(cap)) continue;
    int present = prctl5(PR_CAPBSET_READ, static_cast<unsigned long>(cap), 0, 0, 0);
    if (present < 0) return -errno;
    if (present == 1 && prctl5(PR_CAPBSET_DROP, static_cast<unsigned long>(cap), 0, 0, 0) != 0) return -errno;
  }

  // 3. The three sets of the process itself.
  data[0].effective = static_cast<uint32_t>(caps.effective);
  data[1].effective = static_cast<uint32_t>(caps.effective >> 32);
  data[0].permitted = static_cast<uint32_t>(caps.permitted);
  data[1].permitted = static_cast<uint32_t>(caps.permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(caps.inheritable);
  data[1].inheritable = static_cast<uint32_t>(caps.inheritable >> 32);
  header = {_LINUX_CAPABILITY_VERSION_3, 0};
  if (syscall(SYS_capset, &header, data) != 0) return -errno;

  // 4. Ambient: start from nothing (EINVAL = a kernel without ambient
  //    capabilities, fine only if none are wanted).
  if (prctl5(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    if (errno != EINVAL || caps.ambient != 0) return -errno;
  }
  for (int cap = 0; cap <= caps.last_cap; ++cap) {
    if (!(caps.ambient & bit(cap))) continue;
    if (prctl5(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(cap), 0, 0) != 0) return -errno;
  }
  return 0;
}

ProcessPrivileges parse_proc_status(const std::string& status_text) {
  ProcessPrivileges out;
  std::string_view text(status_text);
  while (!text.empty()) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);

    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r')) {
      value.remove_suffix(1);
    }

    uint64_t* mask = nullptr;
    int* number = nullptr;
    if (key == "CapEff") mask = &out.effective;
    else if (key == "CapPrm") mask = &out.permitted;
    else if (key == "CapBnd") mask = &out.bounding;
    else if (key == "CapInh") mask = &out.inheritable;
    else if (key == "CapAmb") mask = &out.ambient;
    else if (key == "NoNewPrivs") number = &out.no_new_privs;
    else if (key == "Seccomp") number = &out.seccomp_mode;
    else continue;

    const char* first = value.data();
    const char* last = value.data() + value.size();
    std::from_chars_result result{};
    if (mask != nullptr) {
      result = std::from_chars(first, last, *mask, 16);
    } else {
      result = std::from_chars(first, last, *number, 10);
    }
    if (value.empty() || result.ec != std::errc() || result.ptr != last) {
      throw std::runtime_error("/proc status: malformed " + std::string(key) + " line \"" + std::string(line) + "\"");
    }
  }
  return out;
}

}  // namespace deckhand::runtime
