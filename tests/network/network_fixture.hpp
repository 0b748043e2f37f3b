// One network test's world: "nodes", each a test-made "host" network
// namespace (a thread inside it, pinned under the test's TempDir) with the
// staged network-bridge plugin loaded and called on that thread, a private
// state_dir and netns_dir; pods are pinned network namespaces under the
// node's netns_dir. TearDown detaches every pod, unloads the plugins and
// checks that nothing is left (no pod interface, no address allocation, no
// pod record, no port element in the nft table, no pin), then deletes the
// bridges and the namespaces. Nothing runs in the namespace the test
// process started in.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "netns_util.hpp"
#include "plugins/plugin.hpp"
#include "plugins/loader.hpp"
#include "plugins/plugin_metrics.hpp"
#include "temp_dir.hpp"

namespace deckhand::test::net {

std::string staged_network_plugin();  // <stage>/lib/deckhand/plugins/libdeckhand-network-bridge.so

// The plugin loaded in-process through the SDK as the agent loads it (like
// cli::LocalPlugin, keeping the call's status for the tests' assertions).
// Create, call and destroy it on a thread inside the "host" namespace.
class NetPlugin {
 public:
  NetPlugin(const nlohmann::json& config, const std::string& loader_state_dir);
  ~NetPlugin();
  NetPlugin(const NetPlugin&) = delete;
  NetPlugin& operator=(const NetPlugin&) = delete;
  CallResult call(const std::string& operation, const nlohmann::json& request);
  // As call, throwing std::runtime_error("<op>: <message>") unless it succeeds.
  nlohmann::json must(const std::string& operation, const nlohmann::json& request);

 private:
  DiscardedPluginMetrics metrics_;
  std::unique_ptr<PluginLoader> loader_;
  std::unique_ptr<Plugin> plugin_;
};

// The element and rule counts of `table inet deckhand` in the calling
// thread's namespace (zeros when there is no such table), through libnftables.
struct NftCounts {
  bool table = false;
  int rules = 0;
  int elements = 0;  // in every set and map of the table
};
NftCounts nft_counts();

struct Node {
  std::string name;
  std::unique_ptr<NetnsThread> host;  // the node's "host" namespace
  std::string host_pin;               // its pin
  std::string state_dir, netns_dir, loader_dir;
  nlohmann::json config;
  std::unique_ptr<NetPlugin> plugin;
  std::set<std::string> pods;             // attached, detached at TearDown
  std::set<std::string> test_links;       // links the test made in the host namespace
  int baseline_rules = -1;                // nft rules right after the first load
};

// The outcome of one echo exchange between two namespaces.
struct Talk {
  Exchange client;
  std::vector<std::string> peers;  // what the server saw
};

class NetworkTest : public ::testing::Test {
 protected:
  void TearDown() override;

  // A node: a fresh host namespace, lo up; the plugin loaded unless !load.
  // `config` is merged over {bridge, pod_cidr 10.88.0.0/24, state_dir, netns_dir}.
  Node& add_node(const std::string& name, const nlohmann::json& config = nlohmann::json::object(), bool load = true);
  void load(Node& node);    // throws the loader's error
  void unload(Node& node);  // as an agent stop would

  CallResult call(Node& node, const std::string& operation, const nlohmann::json& request);
  // Pins the pod's namespace (<netns_dir>/<pod_id>) unless pinned, then attaches.
  CallResult try_attach(Node& node, const std::string& pod_id, const nlohmann::json& ports = nlohmann::json::array());
  nlohmann::json attach(Node& node, const std::string& pod_id, const nlohmann::json& ports = nlohmann::json::array());
  void detach(Node& node, const std::string& pod_id);  // and removes the pod's pin
  std::string pod_pin(const Node& node, const std::string& pod_id) const { return node.netns_dir + "/" + pod_id; }

  // An extra namespace (another "host" on the network, an outside server), pinned.
  std::string add_namespace(const std::string& name);

  // Runs `fn` inside the namespace at `ns_path` (a thread joined to it).
  template <typename F>
  auto in(const std::string& ns_path, F&& fn) {
    auto thread = NetnsThread::join(ns_path);
    return thread->run(std::forward<F>(fn));
  }
  // An echo server in `server_ns` on `port`, one exchange from `client_ns` to address:dest_port.
  Talk talk(bool tcp, const std::string& server_ns, uint16_t port, const std::string& client_ns,
            const std::string& address, uint16_t dest_port, const std::string& payload = "hello",
            std::chrono::milliseconds client_timeout = std::chrono::seconds(3));

  // "10.88.0.5" from a CNI result's first IP.
  static std::string pod_ip(const nlohmann::json& result);

  TempDir dir_{"deckhand-net"};
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::string> extra_pins_;
};

}  // namespace deckhand::test::net
