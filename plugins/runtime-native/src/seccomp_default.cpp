// The RuntimeDefault seccomp profile: in effect Moby's profiles/seccomp
// default.json (what `docker run` and containerd's CRI apply), written as data.
//
// Where it differs from Moby, and why:
//  - socket: Moby allows every family but AF_ALG (38) and AF_VSOCK (40) with
//    three rules arg0 < 38, == 39, > 40. Those compare all 64 bits of the
//    register, while the kernel reads an int: on x86_64, 0x1_0000_0026 passes
//    "> 40" and opens AF_ALG. Here every rule looks at the low 32 bits only
//    (SCMP_CMP_MASKED_EQ), allowing families 0-37, 39 and 41-63; families 64
//    and up (none exist; the kernel would say EAFNOSUPPORT) get EPERM.
//  - ptrace, process_vm_readv/writev: Moby allows them without a capability
//    only on kernels >= 4.8 (where seccomp runs after the ptracer); deckhand
//    requires newer kernels and allows them unconditionally.
//  - Per-architecture rules (arch_prctl, modify_ldt; ARM's breakpoint,
//    cacheflush, set_tls, arm_fadvise64_64, arm_sync_file_range,
//    sync_file_range2) are one list: libseccomp drops a name on every
//    architecture that does not have that syscall, which is what Moby's
//    "includes.arches" achieves (deckhand builds for x86_64 and aarch64).
//  - Names libseccomp does not know are skipped (as runc does). With Debian's
//    libseccomp 2.5.4 that is mseal, listmount, statmount, the *xattrat calls
//    and uretprobe; all but uretprobe are numbered above every name it knows,
//    so compile_seccomp's ENOSYS stub (runc's too) answers them with ENOSYS,
//    and libc falls back. uretprobe gets the default EPERM.
//  - riscv_hwprobe and the s390/PowerPC/MIPS-only rules are left out.
// Known gap, shared with Moby's seccomp profile: socketcall(2) (x86 32-bit)
// passes the family behind a pointer seccomp cannot read, so a 32-bit program
// can still open AF_ALG/AF_VSOCK. It cannot be denied without breaking 32-bit
// programs (distributions build i386 glibc to use socketcall); Moby closes it
// with AppArmor/SELinux rules instead (moby#52547).
#include <linux/capability.h>

#include <algorithm>
#include <cerrno>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "seccomp.hpp"

namespace deckhand::runtime {
namespace {

using Names = std::initializer_list<std::string_view>;

// Allowed for every container. Grouped by what they are for; names a given
// architecture lacks (the *32 uid calls, *_time64, _llseek, ...) are dropped
// for it by libseccomp.
const Names kAllowFiles = {
    "access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fchdir", "fchmod",
    "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "flock", "fstat",
    "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd",
    "getdents", "getdents64", "lchown", "lchown32", "link", "linkat", "_llseek", "lseek", "lstat", "lstat64",
    "mkdir", "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat", "open", "openat", "openat2",
    "readahead", "readlink", "readlinkat", "rename", "renameat", "renameat2", "rmdir", "stat", "stat64", "statfs",
    "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "truncate", "truncate64",
    "umask", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
    // extended attributes
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "getxattrat", "lgetxattr", "listxattr",
    "listxattrat", "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "removexattrat", "setxattr",
    "setxattrat",
    // reading the mount table of the container's own mount namespace
    "listmount", "statmount",
    // file change notification
    "fanotify_mark", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
};

const Names kAllowIo = {
    "cachestat", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readv", "sendfile",
    "sendfile64", "splice", "tee", "vmsplice", "write", "writev",
    // multiplexing and event fds
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "_newselect", "pipe", "pipe2", "poll", "ppoll", "ppoll_time64",
    "pselect6", "pselect6_time64", "select", "signalfd", "signalfd4",
    // Linux AIO (io_uring is not here on purpose)
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit",
    "ioctl", "ioprio_get", "ioprio_set",
};

const Names kAllowMemory = {
    "brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "mseal", "msync", "munlock", "munlockall",
    "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
};

const Names kAllowProcesses = {
    "arch_prctl", "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "getcpu", "getpgid",
    "getpgrp", "getpid", "getppid", "getpriority", "getrlimit", "getrusage", "getsid", "gettid", "get_robust_list",
    "get_thread_area", "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
    "modify_ldt", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease", "restart_syscall",
    "rseq", "seccomp", "setpgid", "setpriority", "setrlimit", "set_robust_list", "setsid", "set_thread_area",
    "set_tid_address", "tgkill", "tkill", "ugetrlimit", "uname", "uretprobe", "vfork", "wait4", "waitid",
    "waitpid",
    // Moby: allowed without CAP_SYS_PTRACE from kernel 4.8 on
    "process_vm_readv", "process_vm_writev", "ptrace",
    // scheduling
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    // credentials
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getuid", "getuid32", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32", "setresgid",
    "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
};

const Names kAllowSignalsAndTime = {
    "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sigaltstack",
    "sigprocmask", "sigreturn",
    // futexes
    "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
    // clocks and timers
    "adjtimex", "alarm", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
    "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "getitimer", "gettimeofday",
    "nanosleep", "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
    "getrandom", "sysinfo",
};

// socket itself has its own rules below.
const Names kAllowNetworkAndIpc = {
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv",
    "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt",
    "shutdown", "socketcall", "socketpair",
    // System V and POSIX IPC
    "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
};

// 32-bit ARM private calls and ARM spellings (aarch64 hosts run arm binaries).
const Names kAllowArm = {
    "arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls", "sync_file_range2",
};

struct Gate {
  int capability;
  Names names;
};

// Allowed only when the container holds the capability.
const std::initializer_list<Gate> kGated = {
    {CAP_SYS_ADMIN,
     {"bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mount", "mount_setattr",
      "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
      "setns", "syslog", "umount", "umount2", "unshare"}},
    {CAP_SYS_PTRACE, {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}},
    {CAP_SYS_MODULE, {"delete_module", "finit_module", "init_module"}},
    {CAP_SYS_TIME, {"clock_settime", "clock_settime64", "settimeofday", "stime"}},
    {CAP_SYS_RAWIO, {"ioperm", "iopl"}},
    {CAP_SYS_BOOT, {"reboot"}},
    {CAP_SYS_CHROOT, {"chroot"}},
    {CAP_SYS_PACCT, {"acct"}},
    {CAP_SYS_NICE, {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"}},
    {CAP_SYSLOG, {"syslog"}},
    {CAP_BPF, {"bpf"}},
    {CAP_PERFMON, {"perf_event_open"}},
    {CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
    {CAP_SYS_TTY_CONFIG, {"vhangup"}},
};

// Never allowed, whatever the capabilities (documentation; a test checks that
// no list above has them): keyrings are not namespaced; kexec, swap, modules
// the old way, and the obsolete calls are host business; io_uring bypasses
// seccomp for the operations it performs; userfaultfd makes kernel races easy
// to win; pivot_root is the runtime's, not the container's.
const Names kNeverAllowed = {
    "add_key", "keyctl", "request_key", "kexec_load", "kexec_file_load", "pivot_root", "swapon", "swapoff",
    "userfaultfd", "move_pages", "migrate_pages", "nfsservctl", "create_module", "get_kernel_syms",
    "query_module", "sysfs", "_sysctl", "uselib", "ustat", "vm86", "vm86old", "io_uring_setup", "io_uring_enter",
    "io_uring_register",
};

constexpr uint64_t kCloneNamespaceFlags = 0x7E020000;  // NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
static_assert(kCloneNamespaceFlags == 0x7E020000);

// personality(2) values a container may set: PER_LINUX, PER_LINUX_32BIT,
// UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (query only).
constexpr uint64_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// socket(2) families allowed, as (mask, value) on the low 32 bits of arg 0:
// 0-31, 32-35, 36-37, 39, 41, 42-43, 44-47, 48-63 (all but AF_ALG 38 and
// AF_VSOCK 40).
struct MaskedValue {
  uint64_t mask, value;
};
constexpr MaskedValue kSocketFamilies[] = {
    {0xffffffe0, 0x00}, {0xfffffffc, 0x20}, {0xfffffffe, 0x24}, {0xffffffff, 0x27},
    {0xffffffff, 0x29}, {0xfffffffe, 0x2a}, {0xfffffffc, 0x2c}, {0xfffffff0, 0x30},
};

SeccompRule allow(std::vector<std::string> names, std::vector<SeccompArg> args = {}) {
  SeccompRule rule;
  rule.names = std::move(names);
  rule.action = "SCMP_ACT_ALLOW";
  rule.args = std::move(args);
  return rule;
}

}  // namespace

std::vector<std::string> default_seccomp_never_allowed() {
  return {kNeverAllowed.begin(), kNeverAllowed.end()};
}

Seccomp default_seccomp_profile(const std::vector<int>& effective_capabilities) {
  auto has = [&effective_capabilities](int cap) {
    return std::find(effective_capabilities.begin(), effective_capabilities.end(), cap) !=
           effective_capabilities.end();
  };
  const bool sys_admin = has(CAP_SYS_ADMIN);

  std::set<std::string> names;
  for (Names list : {kAllowFiles, kAllowIo, kAllowMemory, kAllowProcesses, kAllowSignalsAndTime,
                     kAllowNetworkAndIpc, kAllowArm}) {
    names.insert(list.begin(), list.end());
  }
  for (const Gate& gate : kGated) {
    if (has(gate.capability)) names.insert(gate.names.begin(), gate.names.end());
  }

  Seccomp profile;
  profile.default_action = "SCMP_ACT_ERRNO";
  profile.default_errno_ret = EPERM;
#if defined(__x86_64__)
  profile.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
#elif defined(__aarch64__)
  profile.architectures = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"};
#endif

  profile.syscalls.push_back(allow({names.begin(), names.end()}));

  for (const MaskedValue& family : kSocketFamilies) {
    profile.syscalls.push_back(allow({"socket"}, {{0, family.mask, family.value, "SCMP_CMP_MASKED_EQ"}}));
  }
  std::vector<SeccompArg> personalities;
  for (uint64_t value : kPersonalities) personalities.push_back({0, value, 0, "SCMP_CMP_EQ"});
  // One rule with a repeated index: compile_seccomp makes it an OR.
  profile.syscalls.push_back(allow({"personality"}, std::move(personalities)));

  if (!sys_admin) {
    // clone only without namespace flags (with CAP_SYS_ADMIN it is in the
    // allow-list as is); clone3 passes its flags in memory seccomp cannot
    // read, so it fails with ENOSYS and libc falls back to clone.
    profile.syscalls.push_back(allow({"clone"}, {{0, kCloneNamespaceFlags, 0, "SCMP_CMP_MASKED_EQ"}}));
    SeccompRule clone3;
    clone3.names = {"clone3"};
    clone3.action = "SCMP_ACT_ERRNO";
    clone3.errno_ret = ENOSYS;
    profile.syscalls.push_back(std::move(clone3));
  }
  return profile;
}

}  // namespace deckhand::runtime
