// What the end-to-end pod tests outside pod_lifecycle_test.cpp share: the
// busybox image (built once per test process with make-busybox-image.sh),
// an agent with the runtime-native and storage-overlay plugins (and any
// more plugins a suite adds) with busybox loaded, the CLI calls the tests
// make (apply, get, events), the clean-up that leaves no pod, container
// or pod cgroup behind, and PodTest: a fixture that gives each test such an
// agent.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent_fixture.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace deckhand::test::pods {

// The busybox image archive, built once per test process.
inline const std::string& busybox_archive() {
  static TempDir dir("deckhand-pod-image");
  static const std::string archive = [] {
    const std::string layout = dir / "layout";
    const CommandResult built =
        run_command({"bash", std::string(DECKHAND_SOURCE_DIR) + "/tests/fixtures/make-busybox-image.sh", layout, "busybox"},
                    "", std::chrono::seconds(120));
    if (built.exit_code != 0) throw std::runtime_error("make-busybox-image.sh: " + built.err);
    const std::string tar = dir / "busybox.tar";
    const CommandResult packed = run_command({"tar", "-C", layout, "-cf", tar, "."});
    if (packed.exit_code != 0) throw std::runtime_error("tar: " + packed.err);
    return tar;
  }();
  return archive;
}

// One agent with pods on, busybox loaded as local/busybox:1.
class PodAgent {
 public:
  // `more_plugins`: YAML list entries after the runtime and the storage plugin.
  explicit PodAgent(const std::string& more_plugins = "") {
    static int counter = 0;
    cgroup_parent_ = "deckhand-pod-test-" + std::to_string(::getpid()) + "-e2e-" + std::to_string(counter++);
    const std::string plugins =
        "  - path: libdeckhand-runtime-native.so\n    config:\n      root: @TMP@/runtime\n      netns_dir: @TMP@/netns\n"
        "      cgroup_parent: " + cgroup_parent_ + "\n"
        "  - path: libdeckhand-storage-overlay.so\n    config:\n      root: @TMP@/storage\n" + more_plugins;
    const std::string pods =
        "pods:\n  manifest_dir: @TMP@/pods\n  log_dir: @TMP@/pod-logs\n  node_name: test-node\n  node_ip: 127.0.0.1\n"
        "  crash_loop_backoff_seconds: 1\n  max_crash_loop_backoff_seconds: 4\n";
    agent_ = std::make_unique<AgentUnderTest>(plugins, pods);
  }

  AgentUnderTest& agent() { return *agent_; }
  const AgentUnderTest& agent() const { return *agent_; }

  // `deckhand image load` of busybox; the CLI's result.
  CommandResult load_busybox() const {
    return run_deckhand({"image", "--config", agent_->config_path(), "load", "-i", busybox_archive(), "--name",
                         "local/busybox:1"},
                        "", std::chrono::seconds(60));
  }

  std::vector<std::string> pod_names() const {
    const CommandResult r = agent_->cli("get", "pods", "-o", "json");
    std::vector<std::string> names;
    const nlohmann::json list = nlohmann::json::parse(r.out, nullptr, false);
    if (list.is_discarded()) return names;
    for (const nlohmann::json& item : list.value("items", nlohmann::json::array())) {
      names.push_back(item["metadata"].value("name", ""));
    }
    return names;
  }

  nlohmann::json pod(const std::string& name) const {
    return nlohmann::json::parse(agent_->cli("get", "pod", name, "-o", "json").out, nullptr, false);
  }

  static std::string phase(const nlohmann::json& p) { return p.is_object() ? p["status"].value("phase", "") : ""; }

  bool eventually_running(const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    return eventually([&] { return phase(pod(name)) == "Running"; }, timeout);
  }

  // The messages of the pod's events with this reason.
  std::vector<std::string> event_messages(const std::string& name, const std::string& reason) const {
    const HttpResult r = agent_->api("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=" + name);
    std::vector<std::string> messages;
    const nlohmann::json list = nlohmann::json::parse(r.body, nullptr, false);
    if (list.is_discarded()) return messages;
    for (const nlohmann::json& e : list.value("items", nlohmann::json::array())) {
      if (e.value("reason", "") == reason && e["involvedObject"].value("name", "") == name) {
        messages.push_back(e.value("message", ""));
      }
    }
    return messages;
  }

  CommandResult apply(const std::string& manifest) const {
    const std::string file = agent_->path("manifest-" + std::to_string(manifests_++) + ".yaml");
    write_file(file, manifest);
    return agent_->cli("apply", "-f", file);
  }

  // Deletes every pod and checks that nothing of them is left: no pod, no
  // container, no pod cgroup (the test's cgroup parent goes too).
  void delete_everything() {
    // A test that failed after killing its agent still gets its pods
    // removed: a new agent re-adopts them and deletes them.
    if (!agent_->running()) {
      EXPECT_TRUE(agent_->start()) << agent_->stderr_text();
    }
    for (const std::string& name : pod_names()) agent_->cli("delete", "pod", name);
    EXPECT_TRUE(eventually([&] { return pod_names().empty(); }, std::chrono::seconds(60))) << agent_->stderr_text();
    const CommandResult list = run_deckhand({"oci", "--root", agent_->path("runtime"), "list", "-q"});
    EXPECT_EQ(list.out, "") << "containers left behind; the agent said:\n" << agent_->stderr_text();
    // No pod cgroup is left; the QoS tiers under the test's cgroup parent
    // (which a node keeps, as the kubelet keeps kubepods/besteffort) go too.
    namespace fs = std::filesystem;
    std::error_code error;
    for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", error)) {
      const fs::path parent = hierarchy.path() / cgroup_parent_;
      if (!fs::is_directory(parent)) continue;
      std::vector<fs::path> dirs;
      for (const auto& entry : fs::recursive_directory_iterator(parent, error)) {
        if (!entry.is_directory()) continue;
        EXPECT_NE(entry.path().filename().string().rfind("pod", 0), 0u) << "left behind: " << entry.path();
        dirs.push_back(entry.path());
      }
      std::sort(dirs.rbegin(), dirs.rend());
      for (const fs::path& dir : dirs) ::rmdir(dir.c_str());
      ::rmdir(parent.c_str());
    }
  }

 private:
  std::unique_ptr<AgentUnderTest> agent_;
  std::string cgroup_parent_;
  mutable int manifests_ = 0;
};

// A suite whose tests each get a PodAgent of their own (root only), with
// busybox loaded, and leave no pod behind.
class PodTest : public ::testing::Test {
 protected:
  // A suite that adds to this checks IsSkipped() and HasFatalFailure() first.
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "pods need root";
    pods_ = std::make_unique<PodAgent>();
    agent_ = &pods_->agent();
    ASSERT_TRUE(agent_->serving()) << agent_->stderr_text();
    const CommandResult loaded = pods_->load_busybox();
    ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  }

  void TearDown() override {
    if (pods_) pods_->delete_everything();
  }

  std::vector<std::string> pod_names() const { return pods_->pod_names(); }
  nlohmann::json pod(const std::string& name) const { return pods_->pod(name); }
  CommandResult apply(const std::string& manifest) const { return pods_->apply(manifest); }
  static std::string phase(const nlohmann::json& p) { return PodAgent::phase(p); }

  // A one-container hostNetwork pod (label app=`name`) running `script` in
  // busybox's sh; `extra_spec`: indented spec lines before the containers.
  static std::string pod_yaml(const std::string& name, const std::string& script, const std::string& policy = "Always",
                              const std::string& extra_spec = "") {
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  labels: {app: " + name +
           "}\nspec:\n  hostNetwork: true\n  restartPolicy: " + policy + "\n  terminationGracePeriodSeconds: 5\n" +
           extra_spec + "  containers:\n  - name: main\n    image: local/busybox:1\n    command: [\"sh\", \"-c\", " +
           nlohmann::json(script).dump() + "]\n";
  }

  std::unique_ptr<PodAgent> pods_;
  AgentUnderTest* agent_ = nullptr;  // pods_'s agent
};

}  // namespace deckhand::test::pods
