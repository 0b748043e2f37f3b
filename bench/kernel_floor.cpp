// deckhand-bench-floor BUNDLE [RUNS]: what this machine's kernel charges for
// the container lifecycle the runtime benchmark measures, with none of a
// runtime's own work (no JSON, no state files, no monitor, no validation):
// the same 8 cgroup v1 directories made, joined and removed, the same new
// namespaces, the same mounts (the runc spec bundle's, the cgroup mount's 8
// binds, 10 masked and 5 read-only paths), pivot_root, exec of the bundle's
// /bin/true, exit and reaping. A lower bound for the plugin-API lifecycle;
// printed next to it, so the distance between the two is the runtime's own
// cost. Needs root and a busybox bundle (tests/fixtures/make-busybox-bundle.sh).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

const char* const kHierarchies[] = {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"};
const char* const kMasked[] = {"proc/acpi", "proc/asound", "proc/kcore", "proc/keys", "proc/latency_stats",
                               "proc/timer_list", "proc/timer_stats", "proc/sched_debug", "sys/firmware", "proc/scsi"};
const char* const kReadonly[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"};

std::string root;  // the bundle's rootfs
std::string cgroup;  // deckhand-floor/<n>

void write_text(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, text.data(), text.size()) < 0) std::perror(path.c_str());
  if (fd >= 0) ::close(fd);
}

void mount_or_die(const std::string& source, const std::string& target, const char* type, unsigned long flags,
                  const char* data = nullptr) {
  if (::mount(source.c_str(), target.c_str(), type, flags, data) != 0) {
    std::perror(("mount " + target).c_str());
    std::_Exit(126);
  }
}

int child(void*) {
  for (const char* h : kHierarchies) write_text(std::string("/sys/fs/cgroup/") + h + "/" + cgroup + "/tasks", "0");
  mount_or_die("", "/", nullptr, MS_REC | MS_PRIVATE);
  mount_or_die(root, root, nullptr, MS_BIND | MS_REC);
  mount_or_die("proc", root + "/proc", "proc", 0);
  mount_or_die("tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
  for (const char* dir : {"/dev/pts", "/dev/shm", "/dev/mqueue"}) ::mkdir((root + dir).c_str(), 0755);
  mount_or_die("devpts", root + "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  mount_or_die("shm", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
  mount_or_die("mqueue", root + "/dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV);
  mount_or_die("sysfs", root + "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV);
  mount_or_die("tmpfs", root + "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=755");
  for (const char* h : kHierarchies) {
    const std::string target = root + "/sys/fs/cgroup/" + h;
    ::mkdir(target.c_str(), 0755);
    mount_or_die(std::string("/sys/fs/cgroup/") + h + "/" + cgroup, target, nullptr, MS_BIND);
  }
  ::mknod((root + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3));
  if (::chdir(root.c_str()) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 || ::umount2(".", MNT_DETACH) != 0 ||
      ::chdir("/") != 0) {
    std::perror("pivot_root");
    return 126;
  }
  for (const char* path : kMasked) ::mount("/dev/null", (std::string("/") + path).c_str(), nullptr, MS_BIND, nullptr);
  for (const char* path : kReadonly) {
    const std::string p = std::string("/") + path;
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0) {
      ::mount(nullptr, p.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr);
    }
  }
  char* const argv[] = {const_cast<char*>("true"), nullptr};
  ::execv("/bin/true", argv);
  return 127;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: deckhand-bench-floor BUNDLE [RUNS]\n");
    return 2;
  }
  root = std::string(argv[1]) + "/rootfs";
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 50;
  static char stack[1 << 16];
  std::vector<double> samples;
  for (const char* h : kHierarchies) ::mkdir((std::string("/sys/fs/cgroup/") + h + "/deckhand-floor").c_str(), 0755);
  write_text("/sys/fs/cgroup/cpuset/deckhand-floor/cpuset.cpus", "0");
  write_text("/sys/fs/cgroup/cpuset/deckhand-floor/cpuset.mems", "0");
  for (int i = 0; i < runs; ++i) {
    cgroup = "deckhand-floor/" + std::to_string(i);
    const auto start = std::chrono::steady_clock::now();
    for (const char* h : kHierarchies) ::mkdir((std::string("/sys/fs/cgroup/") + h + "/" + cgroup).c_str(), 0755);
    write_text("/sys/fs/cgroup/cpuset/" + cgroup + "/cpuset.cpus", "0");
    write_text("/sys/fs/cgroup/cpuset/" + cgroup + "/cpuset.mems", "0");
    const pid_t pid = ::clone(child, stack + sizeof stack,
                              CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD, nullptr);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "the container failed (status %d)\n", status);
      return 1;
    }
    for (const char* h : kHierarchies) ::rmdir((std::string("/sys/fs/cgroup/") + h + "/" + cgroup).c_str());
    samples.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  for (const char* h : kHierarchies) ::rmdir((std::string("/sys/fs/cgroup/") + h + "/deckhand-floor").c_str());
  std::sort(samples.begin(), samples.end());
  std::printf("  kernel floor (the same kernel work, nothing else)  median %.2f ms  p90 %.2f ms  n=%d\n",
              samples[samples.size() / 2], samples[samples.size() * 9 / 10], runs);
  return 0;
}
