#include "mount_options.hpp"

#include <sys/mount.h>
#include <sys/statvfs.h>

#include <map>

namespace deckhand::runtime {

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  struct Flag {
    bool set;
    unsigned long value;
  };
  static const std::map<std::string, Flag> flags = {
      {"ro", {true, MS_RDONLY}},          {"rw", {false, MS_RDONLY}},
      {"nosuid", {true, MS_NOSUID}},      {"suid", {false, MS_NOSUID}},
      {"nodev", {true, MS_NODEV}},        {"dev", {false, MS_NODEV}},
      {"noexec", {true, MS_NOEXEC}},      {"exec", {false, MS_NOEXEC}},
      {"sync", {true, MS_SYNCHRONOUS}},   {"async", {false, MS_SYNCHRONOUS}},
      {"dirsync", {true, MS_DIRSYNC}},    {"remount", {true, MS_REMOUNT}},
      {"mand", {true, MS_MANDLOCK}},      {"nomand", {false, MS_MANDLOCK}},
      {"noatime", {true, MS_NOATIME}},    {"atime", {false, MS_NOATIME}},
      {"nodiratime", {true, MS_NODIRATIME}}, {"diratime", {false, MS_NODIRATIME}},
      {"relatime", {true, MS_RELATIME}},  {"norelatime", {false, MS_RELATIME}},
      {"strictatime", {true, MS_STRICTATIME}}, {"nostrictatime", {false, MS_STRICTATIME}},
  };
  static const std::map<std::string, unsigned long> propagation = {
      {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC}, {"shared", MS_SHARED},
      {"rshared", MS_SHARED | MS_REC}, {"slave", MS_SLAVE}, {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC}};
  MountOptions out;
  for (const auto& option : options) {
    if (option == "bind") continue;
    if (option == "rbind") {
      out.recursive_bind = true;
      continue;
    }
    if (auto it = flags.find(option); it != flags.end()) {
      if (it->second.set) {
        out.flags |= it->second.value;
        out.clear &= ~it->second.value;
      } else {
        out.flags &= ~it->second.value;
        out.clear |= it->second.value;
      }
      continue;
    }
    if (auto it = propagation.find(option); it != propagation.end()) {
      out.propagation |= it->second;
      continue;
    }
    out.data += (out.data.empty() ? "" : ",") + option;
  }
  return out;
}

unsigned long current_mount_flags(const char* path) {
  struct statvfs st {};
  if (statvfs(path, &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

}  // namespace deckhand::runtime
