// `deckhand oci spec`: config.json templates with deckhand's defaults, run as
// real containers. RuntimeDefault is what a pod that asks for nothing
// special gets (Docker's and containerd's capabilities, the default seccomp
// profile, no_new_privs, masked and read-only paths); --privileged is
// Kubernetes' privileged: true.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent_fixture.hpp"
#include "runtime_fixture.hpp"

namespace deckhand::test {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;
namespace fs = std::filesystem;

class RuntimeDefaultSpecTest : public RuntimeTest {
 protected:
  // The bundle's config.json replaced by `deckhand oci spec [extra]`, with `args`.
  void respec(const BusyboxBundle& bundle, const std::vector<std::string>& args,
              const std::vector<std::string>& extra = {}) {
    fs::remove(bundle.config_path());
    std::vector<std::string> command = {"spec", "--bundle", bundle.path()};
    command.insert(command.end(), extra.begin(), extra.end());
    const CommandResult made = runtime_.oci(command);
    ASSERT_EQ(made.exit_code, 0) << made.err;
    bundle.set_args(args);
  }
};

uint64_t mask_of(const std::vector<int>& capabilities) {
  uint64_t mask = 0;
  for (int cap : capabilities) mask |= uint64_t{1} << cap;
  return mask;
}

std::string hex(uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

TEST_F(RuntimeDefaultSpecTest, RuntimeDefaultRunsWithTheDefaultCapabilitiesSeccompAndNoNewPrivs) {
  BusyboxBundle bundle({"true"});
  respec(bundle,
         {"sh", "-c",
          "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; "
          "mount -t tmpfs none /tmp 2>/dev/null; echo mount=$?; unshare -n true 2>/dev/null; echo unshare=$?; "
          "wc -c </proc/keys; echo x 2>/dev/null >/proc/sys/kernel/domainname; echo domainname=$?; "
          "ls /sys/firmware | wc -l"});
  const json config = bundle.config();
  EXPECT_FALSE(config["process"]["terminal"].get<bool>());
  EXPECT_TRUE(config["process"]["noNewPrivileges"].get<bool>());
  EXPECT_EQ(config["linux"]["maskedPaths"].size(), 11u);
  EXPECT_EQ(config["linux"]["readonlyPaths"].size(), 5u);
  EXPECT_EQ(config["linux"]["seccomp"].value("defaultAction", ""), "SCMP_ACT_ERRNO");

  const CommandResult ran = run_in(runtime_, bundle, unique_id("spec-default"), bundle.config()["process"]["args"]);
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  // Docker's and containerd's 14.
  const uint64_t defaults = mask_of({CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID,
                                     CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_SYS_CHROOT,
                                     CAP_MKNOD, CAP_AUDIT_WRITE, CAP_SETFCAP});
  EXPECT_EQ(ran.out, "CapEff:\t" + hex(defaults) + "\nCapBnd:\t" + hex(defaults) +
                         "\nNoNewPrivs:\t1\nSeccomp:\t2\nmount=1\nunshare=1\n0\ndomainname=1\n0\n");
}

TEST_F(RuntimeDefaultSpecTest, PrivilegedRunsWithEveryCapabilityOfTheRuntimeAndNoSeccomp) {
  BusyboxBundle bundle({"true"});
  respec(bundle,
         {"sh", "-c",
          "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; "
          "mount -t tmpfs none /tmp && echo mounted; wc -c </proc/sys/kernel/domainname"},
         {"--privileged"});
  uint64_t bounding = 0;
  for (int cap = 0; cap < 64; ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) bounding |= uint64_t{1} << cap;
  }
  const CommandResult ran = run_in(runtime_, bundle, unique_id("spec-privileged"), bundle.config()["process"]["args"]);
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_THAT(ran.out, HasSubstr("CapEff:\t" + hex(bounding) + "\nNoNewPrivs:\t0\nSeccomp:\t0\nmounted\n"));
  EXPECT_FALSE(bundle.config()["linux"].contains("seccomp"));
  EXPECT_FALSE(bundle.config()["linux"].contains("maskedPaths"));
}

TEST_F(RuntimeDefaultSpecTest, SpecNeverOverwritesAConfig) {
  BusyboxBundle bundle({"true"});
  const std::string before = read_file(bundle.config_path());
  const CommandResult again = runtime_.oci({"spec", "--bundle", bundle.path()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "error: File " + bundle.config_path() + " exists. Remove it first\n");
  EXPECT_EQ(read_file(bundle.config_path()), before);
}

}  // namespace
}  // namespace deckhand::test
