// Pod sandboxes through a live agent (`deckhand plugins call runtime-native
// create_sandbox|remove_sandbox|list_sandboxes`), with real containers
// joining them: the pinned network, IPC and UTS namespaces (no pause
// process), the kubepods-style cgroup per QoS class, pod-level limits, and
// removal that leaves nothing behind.
//
// Each test gets its own cgroup parent (instead of kubepods) and pin
// directory; the guard removes every sandbox a test made and then checks
// that no pin, mount or pod cgroup is left.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "runtime_agent_fixture.hpp"

namespace deckhand::test {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

std::string trimmed(const std::string& text) {
  const auto end = text.find_last_not_of(" \t\n");
  return end == std::string::npos ? "" : text.substr(0, end + 1);
}

// /sys/fs/cgroup/<hierarchy>/<path> for every v1 hierarchy the runtime uses.
std::vector<std::string> v1_dirs(const std::string& path) {
  std::vector<std::string> out;
  for (const char* hierarchy : {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"}) {
    out.push_back(std::string("/sys/fs/cgroup/") + hierarchy + "/" + path);
  }
  return out;
}

std::string v1_dir(const std::string& controller, const std::string& path) {
  return "/sys/fs/cgroup/" + controller + "/" + path;
}

bool is_mount_point(const std::string& path) {
  std::istringstream lines(read_file("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string id, parent, device, root, point;
    if (words >> id >> parent >> device >> root >> point && point == path) return true;
  }
  return false;
}

// "net:[4026532000]": the namespace a process is in.
std::string namespace_of(pid_t pid, const std::string& type) {
  std::error_code ec;
  return fs::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + type, ec).string();
}

// The same form for a pinned namespace file.
std::string namespace_of_pin(const std::string& proc_name, const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return proc_name + ":[" + std::to_string(st.st_ino) + "]";
}

class RuntimeSandboxTest : public RuntimeAgentTest {
 protected:
  std::vector<std::string> more_config() const override {
    return {"netns_dir: " + pins_.path(), "cgroup_parent: " + parent_};
  }

  void TearDown() override {
    if (agent_) {
      for (const auto& id : sandboxes_) call("remove_sandbox", {{"id", id}});
    }
    RuntimeAgentTest::TearDown();
    // Only the QoS tiers may be left below the parent (the kubelet keeps them
    // too), and they must hold no pod.
    for (const std::string& dir : v1_dirs(parent_)) {
      std::error_code ec;
      if (!fs::exists(dir, ec)) continue;
      for (const char* tier : {"besteffort", "burstable"}) {
        const std::string tier_dir = dir + "/" + tier;
        if (!fs::exists(tier_dir, ec)) continue;
        for (const auto& entry : fs::directory_iterator(tier_dir, ec)) {
          if (entry.is_directory()) ADD_FAILURE() << "left behind: " << entry.path();
        }
        ::rmdir(tier_dir.c_str());
      }
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_directory()) ADD_FAILURE() << "left behind: " << entry.path();
      }
      if (::rmdir(dir.c_str()) != 0) ADD_FAILURE() << "cannot remove " << dir;
    }
    for (const std::string& text : {pins_.path(), runtime_.root() + "/.sandboxes"}) {
      EXPECT_THAT(host_mounts_containing(text), ::testing::IsEmpty()) << text;
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(pins_.path(), ec)) ADD_FAILURE() << "left behind: " << entry.path();
  }

  json create_sandbox(json request) {
    sandboxes_.push_back(request.at("id").get<std::string>());
    return must("create_sandbox", request);
  }

  // The bundle's container joins the sandbox: its namespaces by path (its own
  // pid and mount namespaces), a cgroup below the pod's, no hostname of its own.
  void join(const BusyboxBundle& bundle, const json& sandbox, const std::string& container) const {
    bundle.edit([&](json& config) {
      config["linux"]["cgroupsPath"] = sandbox.at("cgroups_path").get<std::string>() + "/" + container;
      json namespaces = json::array({{{"type", "pid"}}, {{"type", "mount"}}});
      for (const auto& [type, path] : sandbox.at("namespaces").items()) {
        namespaces.push_back({{"type", type}, {"path", path}});
      }
      config["linux"]["namespaces"] = namespaces;
      config.erase("hostname");
    });
  }

  TempDir pins_{"deckhand-pins"};
  const std::string parent_ = unique_id("deckhand-test-pods");
  std::vector<std::string> sandboxes_;
};

TEST_F(RuntimeSandboxTest, ASandboxPinsItsNamespacesAndMakesThePodCgroupOfItsQosClass) {
  const std::string id = unique_id("sb-pins");
  const json sandbox = create_sandbox({{"id", id},
                                       {"hostname", "web-0"},
                                       {"qos_class", "Burstable"},
                                       {"resources",
                                        {{"memory", {{"limit", 64 * 1024 * 1024}}},
                                         {"cpu", {{"shares", 512}, {"quota", 50000}, {"period", 100000}}},
                                         {"pids", {{"limit", 100}}}}}});
  const std::string pod = parent_ + "/burstable/pod" + id;
  EXPECT_EQ(sandbox.value("cgroups_path", ""), pod) << sandbox.dump();
  EXPECT_EQ(sandbox.value("qos_class", ""), "Burstable");
  const json namespaces = sandbox.value("namespaces", json::object());
  ASSERT_EQ(namespaces.size(), 3u) << sandbox.dump();
  EXPECT_EQ(namespaces.value("network", ""), pins_ / id);
  for (const auto& [type, path] : namespaces.items()) {
    const std::string pin = path.get<std::string>();
    EXPECT_TRUE(is_mount_point(pin)) << type << " " << pin;
    struct statfs fs_info {};
    ASSERT_EQ(::statfs(pin.c_str(), &fs_info), 0) << pin;
    EXPECT_EQ(static_cast<unsigned long>(fs_info.f_type), static_cast<unsigned long>(NSFS_MAGIC)) << pin;
  }
  // Three different namespaces, none of them the host's.
  const std::set<std::string> pinned = {namespace_of_pin("net", namespaces.value("network", "")),
                                        namespace_of_pin("ipc", namespaces.value("ipc", "")),
                                        namespace_of_pin("uts", namespaces.value("uts", ""))};
  EXPECT_EQ(pinned.size(), 3u);
  for (const char* type : {"net", "ipc", "uts"}) EXPECT_EQ(pinned.count(namespace_of(::getpid(), type)), 0u) << type;

  EXPECT_EQ(trimmed(read_file(v1_dir("memory", pod) + "/memory.limit_in_bytes")), "67108864");
  EXPECT_EQ(trimmed(read_file(v1_dir("cpu", pod) + "/cpu.shares")), "512");
  EXPECT_EQ(trimmed(read_file(v1_dir("cpu", pod) + "/cpu.cfs_quota_us")), "50000");
  EXPECT_EQ(trimmed(read_file(v1_dir("pids", pod) + "/pids.max")), "100");

  const json listed = must("list_sandboxes", json::object());
  bool found = false;
  for (const json& item : listed.value("sandboxes", json::array())) {
    if (item.value("id", "") != id) continue;
    found = true;
    EXPECT_EQ(item.value("cgroups_path", ""), pod);
    EXPECT_EQ(item.value("hostname", ""), "web-0");
    EXPECT_EQ(item.value("namespaces", json::object()), namespaces);
  }
  EXPECT_TRUE(found) << listed.dump();
}

TEST_F(RuntimeSandboxTest, EachQosClassHasItsPlaceAndBestEffortTheMinimumCpuWeight) {
  const std::string guaranteed = unique_id("sb-g");
  const std::string burstable = unique_id("sb-b");
  const std::string best_effort = unique_id("sb-be");
  EXPECT_EQ(create_sandbox({{"id", guaranteed}, {"qos_class", "Guaranteed"}}).value("cgroups_path", ""),
            parent_ + "/pod" + guaranteed);
  EXPECT_EQ(create_sandbox({{"id", burstable}, {"qos_class", "Burstable"}}).value("cgroups_path", ""),
            parent_ + "/burstable/pod" + burstable);
  EXPECT_EQ(create_sandbox({{"id", best_effort}}).value("cgroups_path", ""),
            parent_ + "/besteffort/pod" + best_effort);  // the default class
  for (const std::string& dir : v1_dirs(parent_ + "/pod" + guaranteed)) EXPECT_TRUE(fs::is_directory(dir)) << dir;
  EXPECT_EQ(trimmed(read_file(v1_dir("cpu", parent_ + "/besteffort") + "/cpu.shares")), "2");
}

TEST_F(RuntimeSandboxTest, ContainersOfASandboxShareItsNamespacesAndHostnameAndLiveInItsCgroup) {
  const std::string id = unique_id("sb-share");
  const json sandbox = create_sandbox({{"id", id}, {"hostname", "shared-host"}, {"qos_class", "Burstable"}});
  const json pins = sandbox.at("namespaces");
  BusyboxBundle first({"sleep", "30"});
  join(first, sandbox, "first");
  const std::string first_id = unique_id("sb-share-1");
  const pid_t first_pid = run_detached(first, first_id);
  ASSERT_GT(first_pid, 0);

  BusyboxBundle second({"sh", "-c", "hostname; ip link | grep -c '^[0-9]'; grep memory /proc/self/cgroup"});
  join(second, sandbox, "second");
  const std::string second_id = unique_id("sb-share-2");
  TempDir logs("deckhand-sb-log");
  const pid_t second_pid = run_detached(second, second_id, {{"stdio", "log"}, {"log_path", logs / "second.log"}});
  ASSERT_GT(second_pid, 0);

  // From the host: both containers are in the pinned namespaces; each has its own pid namespace.
  EXPECT_EQ(namespace_of(first_pid, "net"), namespace_of_pin("net", pins.value("network", "")));
  EXPECT_EQ(namespace_of(first_pid, "ipc"), namespace_of_pin("ipc", pins.value("ipc", "")));
  EXPECT_EQ(namespace_of(first_pid, "uts"), namespace_of_pin("uts", pins.value("uts", "")));
  const std::string second_net = namespace_of(second_pid, "net");
  if (!second_net.empty()) {  // it may be done already
    EXPECT_EQ(second_net, namespace_of(first_pid, "net"));
    EXPECT_NE(namespace_of(second_pid, "pid"), namespace_of(first_pid, "pid"));
  }
  EXPECT_EQ(trimmed(read_file(v1_dir("memory", sandbox.value("cgroups_path", "") + "/first") + "/cgroup.procs")),
            std::to_string(first_pid));

  const json exit = must("wait", {{"id", second_id}});
  EXPECT_EQ(exit.value("exit_code", -1), 0) << exit.dump();
  // hostname, one interface (lo: the pod's own new network namespace), the cgroup.
  const std::string log = read_file(logs / "second.log");
  EXPECT_THAT(log, HasSubstr(" stdout F shared-host\n"));
  EXPECT_THAT(log, HasSubstr(" stdout F 1\n"));
  EXPECT_THAT(log, HasSubstr(":memory:/" + sandbox.value("cgroups_path", "") + "/second\n"));
}

TEST_F(RuntimeSandboxTest, ThePodMemoryLimitOomKillsAContainerThatGoesAboveIt) {
  const std::string id = unique_id("sb-oom");
  const json sandbox = create_sandbox(
      {{"id", id}, {"qos_class", "Burstable"}, {"resources", {{"memory", {{"limit", 16 * 1024 * 1024}}}}}});
  BusyboxBundle bundle({"sh", "-c", "a=aaaaaaaa; while true; do a=\"$a$a\"; done"});
  join(bundle, sandbox, "hog");  // no limit of its own
  const std::string container = unique_id("sb-oom-c");
  run_detached(bundle, container);
  const json exit = must("wait", {{"id", container}}, 30s);
  EXPECT_EQ(exit.value("exit_code", -1), 137) << exit.dump();
  EXPECT_EQ(exit.value("oom_killed", false), true) << exit.dump();
}

TEST_F(RuntimeSandboxTest, RemovingASandboxKillsItsContainersAndLeavesNothing) {
  const std::string id = unique_id("sb-remove");
  const json sandbox = create_sandbox({{"id", id}, {"qos_class", "Guaranteed"}});
  BusyboxBundle bundle({"sleep", "30"});
  join(bundle, sandbox, "app");
  const std::string container = unique_id("sb-remove-c");
  const pid_t pid = run_detached(bundle, container);
  ASSERT_GT(pid, 0);

  must("remove_sandbox", {{"id", id}});
  EXPECT_TRUE(poll_until([&] { return !process_exists(pid); })) << "pid " << pid << " survived its sandbox";
  for (const auto& [type, path] : sandbox.at("namespaces").items()) {
    EXPECT_FALSE(is_mount_point(path.get<std::string>())) << path;
    EXPECT_FALSE(fs::exists(path.get<std::string>())) << path;
  }
  for (const std::string& dir : v1_dirs(sandbox.value("cgroups_path", ""))) EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_FALSE(fs::exists(runtime_.root() + "/.sandboxes/" + id));
  const auto stopped = runtime_.wait_for_status(container, "stopped");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->value("status", ""), "stopped");

  must("remove_sandbox", {{"id", id}});  // again: nothing to do, no error
  for (const json& item : must("list_sandboxes", json::object()).value("sandboxes", json::array())) {
    EXPECT_NE(item.value("id", ""), id);
  }
}

TEST_F(RuntimeSandboxTest, AHostNetworkPodPinsOnlyIpcAndUts) {
  const std::string id = unique_id("sb-hostnet");
  const json sandbox = create_sandbox({{"id", id}, {"namespaces", {"ipc", "uts"}}, {"hostname", "h"}});
  const json namespaces = sandbox.value("namespaces", json::object());
  EXPECT_FALSE(namespaces.contains("network")) << sandbox.dump();
  EXPECT_EQ(namespaces.size(), 2u);
  EXPECT_FALSE(fs::exists(pins_ / id));
}

TEST_F(RuntimeSandboxTest, BadRequestsAreRefusedWithTheirReasonAndLeaveNothing) {
  const std::string id = unique_id("sb-bad");
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"id", id}, {"namespaces", {"network", "pid"}}}, "not \"pid\""},
      {{{"id", id}, {"namespaces", {"ipc", "ipc"}}}, "\"ipc\" is listed twice"},
      {{{"id", id}, {"namespaces", {"network"}}, {"hostname", "x"}}, "hostname: needs the uts namespace"},
      {{{"id", id}, {"qos_class", "Gold"}}, "qos_class must be Guaranteed, Burstable or BestEffort"},
      {{{"id", "../escape"}}, "invalid sandbox id"},
      {{{"id", id}, {"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}}},
       "device rules belong to containers"},
      {{{"id", id}, {"resources", {{"memory", {{"limit", 12}}}}}}, "linux.resources.memory.limit"},
      {{{"id", id}, {"volumes", json::array()}}, "unknown request field \"volumes\""},
      {{{"id", id}, {"hostname", std::string(65, 'h')}}, "at most 64 characters"},
  };
  for (const auto& [request, reason] : cases) {
    const PluginReply reply = call("create_sandbox", request);
    EXPECT_NE(reply.exit_code, 0) << request.dump();
    EXPECT_THAT(reply.err, HasSubstr(reason)) << request.dump();
  }
  EXPECT_FALSE(fs::exists(runtime_.root() + "/.sandboxes/" + id));
  EXPECT_FALSE(fs::exists(pins_ / id));
  for (const std::string& dir : v1_dirs(parent_ + "/besteffort/pod" + id)) EXPECT_FALSE(fs::exists(dir)) << dir;

  create_sandbox({{"id", id}});
  const PluginReply again = call("create_sandbox", {{"id", id}});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("already exists"));
}

TEST_F(RuntimeSandboxTest, ANewAgentFindsTheSandboxesAndContainersOfAKilledOne) {
  const std::string id = unique_id("sb-adopt");
  const json sandbox = create_sandbox({{"id", id}, {"qos_class", "Burstable"}});
  BusyboxBundle bundle({"sleep", "30"});
  join(bundle, sandbox, "app");
  const std::string container = unique_id("sb-adopt-c");
  const pid_t pid = run_detached(bundle, container);
  ASSERT_GT(pid, 0);

  agent_->signal(SIGKILL);
  ASSERT_TRUE(agent_->wait_exit(10s));
  agent_ = std::make_unique<AgentUnderTest>(plugins_yaml(runtime_.root(), more_config()));
  ASSERT_TRUE(agent_->serving()) << agent_->stderr_text();

  bool found = false;
  for (const json& item : must("list_sandboxes", json::object()).value("sandboxes", json::array())) {
    if (item.value("id", "") == id) found = item.value("namespaces", json::object()) == sandbox.at("namespaces");
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(is_mount_point(sandbox.at("namespaces").value("network", "")));
  EXPECT_EQ(must("state", {{"id", container}}).value("status", ""), "running");
  EXPECT_EQ(namespace_of(pid, "net"), namespace_of_pin("net", sandbox.at("namespaces").value("network", "")));
}

}  // namespace
}  // namespace deckhand::test
