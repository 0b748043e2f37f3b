#include "network_fixture.hpp"

#include <deckhand/plugin.h>
#include <nftables/libnftables.h>

#include <filesystem>
#include <future>
#include <stdexcept>

namespace deckhand::test::net {

using nlohmann::json;
namespace fs = std::filesystem;

std::string staged_network_plugin() {
  return std::string(DECKHAND_STAGE_PREFIX) + "/lib/deckhand/plugins/libdeckhand-network-bridge.so";
}

// --- NetPlugin ------------------------------------------------------------------

NetPlugin::NetPlugin(const json& config, const std::string& loader_state_dir) {
  PluginConfig entry;
  entry.path = staged_network_plugin();
  entry.config_json = config.dump();
  loader_ = std::make_unique<PluginLoader>("/", loader_state_dir, "test", metrics_);
  plugin_ = loader_->load(entry);
  if (plugin_->kind() != DH_KIND_NETWORK) throw std::runtime_error(entry.path + " is not a network plugin");
}

NetPlugin::~NetPlugin() {
  if (plugin_) plugin_->destroy();
}

CallResult NetPlugin::call(const std::string& operation, const json& request) {
  return plugin_->call(operation, request.dump());
}

json NetPlugin::must(const std::string& operation, const json& request) {
  const CallResult r = call(operation, request);
  if (!r.ok()) throw std::runtime_error(operation + " (status " + std::to_string(r.status) + "): " + r.error);
  return json::parse(r.output);
}

// --- nft --------------------------------------------------------------------------

NftCounts nft_counts() {
  NftCounts counts;
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) throw std::runtime_error("nft_ctx_new failed");
  nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  const int rc = nft_run_cmd_from_buffer(ctx, "list table inet deckhand");
  const std::string out = rc == 0 ? nft_ctx_get_output_buffer(ctx) : "";
  nft_ctx_free(ctx);
  if (rc != 0) return counts;  // no such table
  counts.table = true;
  const json doc = json::parse(out);
  for (const auto& item : doc.value("nftables", json::array())) {
    if (item.contains("rule")) ++counts.rules;
    for (const char* kind : {"set", "map"}) {
      if (item.contains(kind) && item[kind].contains("elem")) {
        counts.elements += static_cast<int>(item[kind]["elem"].size());
      }
    }
  }
  return counts;
}

// --- the fixture --------------------------------------------------------------------

Node& NetworkTest::add_node(const std::string& name, const json& config, bool load_now) {
  auto node = std::make_unique<Node>();
  node->name = name;
  node->host = NetnsThread::fresh(true);
  node->host_pin = dir_ / (name + ".hostns");
  pin_netns(*node->host, node->host_pin);
  node->state_dir = dir_ / (name + "-state");
  node->netns_dir = dir_ / (name + "-netns");
  node->loader_dir = dir_ / (name + "-loader");
  fs::create_directories(node->netns_dir);
  fs::create_directories(node->loader_dir);
  node->config = json{{"bridge", "deckhand0"},
                      {"pod_cidr", "10.88.0.0/24"},
                      {"state_dir", node->state_dir},
                      {"netns_dir", node->netns_dir}};
  node->config.merge_patch(config);
  nodes_.push_back(std::move(node));
  Node& added = *nodes_.back();
  if (load_now) load(added);
  return added;
}

void NetworkTest::load(Node& node) {
  node.host->run([&] { node.plugin = std::make_unique<NetPlugin>(node.config, node.loader_dir); });
  if (node.baseline_rules < 0) node.baseline_rules = node.host->run([] { return nft_counts().rules; });
}

void NetworkTest::unload(Node& node) {
  node.host->run([&] { node.plugin.reset(); });
}

CallResult NetworkTest::call(Node& node, const std::string& operation, const json& request) {
  if (!node.plugin) throw std::runtime_error("the plugin of node " + node.name + " is not loaded");
  return node.host->run([&] { return node.plugin->call(operation, request); });
}

CallResult NetworkTest::try_attach(Node& node, const std::string& pod_id, const json& ports) {
  const std::string pin = pod_pin(node, pod_id);
  if (!fs::exists(pin)) create_pinned_netns(pin);
  node.pods.insert(pod_id);  // detached at TearDown even when the attach failed half-way
  return call(node, "attach", json{{"pod_id", pod_id}, {"netns", pin}, {"ifname", "eth0"}, {"ports", ports}});
}

json NetworkTest::attach(Node& node, const std::string& pod_id, const json& ports) {
  const CallResult r = try_attach(node, pod_id, ports);
  if (!r.ok()) throw std::runtime_error("attach " + pod_id + " (status " + std::to_string(r.status) + "): " + r.error);
  return json::parse(r.output);
}

void NetworkTest::detach(Node& node, const std::string& pod_id) {
  const std::string pin = pod_pin(node, pod_id);
  json request{{"pod_id", pod_id}, {"ifname", "eth0"}};
  if (fs::exists(pin)) request["netns"] = pin;
  const CallResult r = call(node, "detach", request);
  if (!r.ok()) throw std::runtime_error("detach " + pod_id + " (status " + std::to_string(r.status) + "): " + r.error);
  node.pods.erase(pod_id);
  remove_pin(pin);
}

std::string NetworkTest::add_namespace(const std::string& name) {
  const std::string pin = dir_ / (name + ".ns");
  create_pinned_netns(pin);
  extra_pins_.push_back(pin);
  in(pin, [] { set_link_up("lo"); });
  return pin;
}

Talk NetworkTest::talk(bool tcp, const std::string& server_ns, uint16_t port, const std::string& client_ns,
                       const std::string& address, uint16_t dest_port, const std::string& payload,
                       std::chrono::milliseconds client_timeout) {
  auto server = NetnsThread::join(server_ns);
  std::promise<void> ready;
  auto listening = ready.get_future();
  std::atomic<bool> stop{false};
  auto served = server->start([&] {
    return serve_echo(tcp, port, 1, &ready, client_timeout + std::chrono::seconds(2), &stop);
  });
  if (listening.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    stop = true;
    served.get();  // rethrows why it could not listen
    throw std::runtime_error("the echo server did not start");
  }
  Talk t;
  t.client = in(client_ns, [&] { return echo_client(tcp, address, dest_port, payload, client_timeout); });
  if (!t.client.ok) stop = true;
  t.peers = served.get();
  return t;
}

std::string NetworkTest::pod_ip(const json& result) {
  const std::string cidr = result.at("ips").at(0).at("address").get<std::string>();
  return cidr.substr(0, cidr.find('/'));
}

void NetworkTest::TearDown() {
  for (auto& owned : nodes_) {
    Node& node = *owned;
    SCOPED_TRACE("node " + node.name);
    try {
      if (!node.plugin) load(node);  // a test that unloaded it: detach through a fresh instance
    } catch (const std::exception& e) {
      ADD_FAILURE() << "loading the plugin for clean-up: " << e.what();
    }
    if (node.plugin) {
      for (const std::string& pod : std::set<std::string>(node.pods)) {
        try {
          detach(node, pod);
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
      // What the plugin made, with every pod gone: no pod interface, no port
      // element, no more rules than right after start-up.
      const auto [links, nft] = node.host->run([] { return std::make_pair(link_names(), nft_counts()); });
      for (const std::string& link : links) {
        if (link != "lo" && link != node.config.value("bridge", "deckhand0") && !node.test_links.count(link)) {
          ADD_FAILURE() << "interface " << link << " left in the host namespace";
        }
      }
      EXPECT_EQ(nft.elements, 0) << "nft elements left in table inet deckhand";
      if (node.baseline_rules >= 0) {
        EXPECT_EQ(nft.rules, node.baseline_rules) << "nft rules left behind";
      }
      unload(node);
    }
    // No address allocation or pod record left, no pin.
    for (const char* sub : {"ipam", "pods"}) {
      const fs::path dir = fs::path(node.state_dir) / sub;
      if (!fs::exists(dir)) continue;
      for (const auto& entry : fs::directory_iterator(dir)) {
        ADD_FAILURE() << "left in the state directory: " << entry.path();
      }
    }
    if (fs::exists(node.netns_dir)) {
      for (const auto& entry : fs::directory_iterator(node.netns_dir)) {
        ADD_FAILURE() << "pin left: " << entry.path();
        remove_pin(entry.path());
      }
    }
    // The bridge and the test's own links go with the namespace; delete them
    // explicitly first so a leak of the namespace would not keep them.
    run_in(node.host_pin, {"ip", "link", "del", node.config.value("bridge", "deckhand0")});
    for (const std::string& link : node.test_links) run_in(node.host_pin, {"ip", "link", "del", link});
    node.host.reset();
    remove_pin(node.host_pin);
  }
  nodes_.clear();
  for (const std::string& pin : extra_pins_) remove_pin(pin);
  extra_pins_.clear();
}

}  // namespace deckhand::test::net
