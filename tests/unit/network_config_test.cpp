// network-bridge config parsing: defaults, required and strict keys, the
// checks on the pod ranges, and the state directory from the loader.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "network_config.hpp"
#include "network_error.hpp"

namespace deckhand::network {
namespace {

using nlohmann::json;

std::string error_of(const json& config) {
  try {
    parse_network_config(config, "/var/lib/deckhand/plugins/net");
  } catch (const NetworkError& e) {
    EXPECT_EQ(e.kind(), Failure::invalid);
    return e.what();
  }
  return "";
}

TEST(NetworkConfig, DefaultsAroundTheRequiredPodRange) {
  const NetworkConfig config = parse_network_config(json{{"pod_cidr", "10.88.0.0/24"}}, "/var/lib/deckhand/plugins/net");
  EXPECT_EQ(config.bridge, "deckhand0");
  EXPECT_EQ(config.mtu, 1500u);
  EXPECT_EQ(config.pod_cidr.string(), "10.88.0.0/24");
  EXPECT_FALSE(config.pod_cidr_v6);
  EXPECT_TRUE(config.masquerade);
  EXPECT_TRUE(config.hairpin);
  EXPECT_EQ(config.state_dir, "/var/lib/deckhand/plugins/net");
  EXPECT_EQ(config.netns_dir, "/run/deckhand/netns");
  EXPECT_EQ(format_address(config.pod_cidr.at(1), false), "10.88.0.1");
  EXPECT_EQ(config.pool_first, 2u);    // after the gateway
  EXPECT_EQ(config.pool_last, 254u);   // before the broadcast
}

TEST(NetworkConfig, ThePoolIsAPartOfThePodRange) {
  const NetworkConfig config = parse_network_config(
      json{{"pod_cidr", "10.88.0.0/24"}, {"range_start", "10.88.0.100"}, {"range_end", "10.88.0.103"}}, "/s");
  EXPECT_EQ(config.pool_first, 100u);
  EXPECT_EQ(config.pool_last, 103u);
  const json base = {{"pod_cidr", "10.88.0.0/24"}};
  auto with = [&](json extra) {
    json config = base;
    config.update(extra);
    return error_of(config);
  };
  EXPECT_NE(with({{"range_start", "10.88.0.1"}}).find("\"range_start\" must be an address of pod_cidr 10.88.0.0/24 "
                                                      "other than its network, gateway and broadcast addresses"),
            std::string::npos);
  EXPECT_NE(with({{"range_end", "10.88.0.255"}}).find("\"range_end\" must be an address of pod_cidr"),
            std::string::npos);
  EXPECT_NE(with({{"range_end", "10.89.0.5"}}).find("\"range_end\""), std::string::npos);
  EXPECT_NE(with({{"range_start", 5}}).find("\"range_start\" must be an IPv4 address string"), std::string::npos);
  EXPECT_NE(with({{"range_start", "10.88.0.x"}}).find("\"range_start\""), std::string::npos);
  EXPECT_NE(with({{"range_start", "10.88.0.9"}, {"range_end", "10.88.0.8"}}).find("must not come before range_start"),
            std::string::npos);
  EXPECT_EQ(with({{"range_start", "10.88.0.9"}, {"range_end", "10.88.0.9"}}), "");
}

TEST(NetworkConfig, EveryKeyRead) {
  const NetworkConfig config = parse_network_config(
      json{{"bridge", "br-pods"}, {"mtu", 9000}, {"pod_cidr", "10.244.3.0/24"}, {"pod_cidr_v6", "fd00:10:244:3::/64"},
           {"masquerade", false}, {"hairpin", false}, {"state_dir", "/srv/net"}, {"netns_dir", "/run/x/netns"}},
      "");
  EXPECT_EQ(config.bridge, "br-pods");
  EXPECT_EQ(config.mtu, 9000u);
  ASSERT_TRUE(config.pod_cidr_v6);
  EXPECT_EQ(config.pod_cidr_v6->string(), "fd00:10:244:3::/64");
  EXPECT_EQ(format_address(config.pod_cidr_v6->at(5), true), "fd00:10:244:3::5");
  EXPECT_FALSE(config.masquerade);
  EXPECT_FALSE(config.hairpin);
  EXPECT_EQ(config.state_dir, "/srv/net");
  EXPECT_EQ(config.netns_dir, "/run/x/netns");
}

TEST(NetworkConfig, UnknownKeysAreRefusedByName) {
  const std::string message = error_of(json{{"pod_cidr", "10.88.0.0/24"}, {"masqerade", false}});
  EXPECT_NE(message.find("\"masqerade\" is not a known key"), std::string::npos) << message;
  EXPECT_NE(message.find("masquerade"), std::string::npos) << message;
}

TEST(NetworkConfig, PodRangeIsRequiredAndChecked) {
  EXPECT_NE(error_of(json::object()).find("\"pod_cidr\" is required"), std::string::npos);
  EXPECT_NE(error_of(json{{"pod_cidr", 24}}).find("must be a string"), std::string::npos);
  EXPECT_NE(error_of(json{{"pod_cidr", "10.88.0.0"}}).find("no prefix length"), std::string::npos);
  EXPECT_NE(error_of(json{{"pod_cidr", "10.88.0.1/24"}}).find("host bits set; the range starts at 10.88.0.0/24"),
            std::string::npos);
  EXPECT_NE(error_of(json{{"pod_cidr", "fd00::/64"}}).find("IPv4"), std::string::npos);
  EXPECT_NE(error_of(json{{"pod_cidr", "10.88.0.0/31"}}).find("from /8 to /30"), std::string::npos);
  EXPECT_NE(error_of(json{{"pod_cidr", "10.0.0.0/7"}}).find("from /8 to /30"), std::string::npos);
  EXPECT_NE(error_of(json{{"pod_cidr", "10.88.0.0/33"}}).find("prefix length too long"), std::string::npos);
}

TEST(NetworkConfig, TheIpv6RangeMustHoldTheIpv4One) {
  EXPECT_NE(error_of(json{{"pod_cidr", "10.88.0.0/16"}, {"pod_cidr_v6", "fd00::/120"}}).find("at least as many"),
            std::string::npos);
  EXPECT_NE(error_of(json{{"pod_cidr", "10.88.0.0/24"}, {"pod_cidr_v6", "10.1.0.0/16"}}).find("IPv6"),
            std::string::npos);
  EXPECT_EQ(error_of(json{{"pod_cidr", "10.88.0.0/24"}, {"pod_cidr_v6", "fd00::/120"}}), "");
}

TEST(NetworkConfig, TypesAndValuesAreChecked) {
  const json base = {{"pod_cidr", "10.88.0.0/24"}};
  auto with = [&](const char* key, json value) {
    json config = base;
    config[key] = std::move(value);
    return error_of(config);
  };
  EXPECT_NE(with("mtu", 100).find("\"mtu\" must be a number from 576 to 65535"), std::string::npos);
  EXPECT_NE(with("mtu", "1500").find("\"mtu\""), std::string::npos);
  EXPECT_NE(with("masquerade", "yes").find("\"masquerade\" must be true or false"), std::string::npos);
  EXPECT_NE(with("hairpin", 1).find("\"hairpin\" must be true or false"), std::string::npos);
  EXPECT_NE(with("bridge", "a-very-long-bridge-name").find("at most 15 characters"), std::string::npos);
  EXPECT_NE(with("bridge", "br/0").find("\"bridge\""), std::string::npos);
  EXPECT_NE(with("state_dir", "relative/dir").find("must be an absolute path"), std::string::npos);
  EXPECT_NE(with("netns_dir", "").find("\"netns_dir\""), std::string::npos);
  EXPECT_NE(error_of(json::array()).find("must be a JSON object"), std::string::npos);
}

TEST(NetworkConfig, WithoutAStateDirectoryFromTheLoaderOneMustBeGiven) {
  try {
    parse_network_config(json{{"pod_cidr", "10.88.0.0/24"}}, "");
    FAIL() << "accepted";
  } catch (const NetworkError& e) {
    EXPECT_NE(std::string(e.what()).find("\"state_dir\""), std::string::npos);
  }
}

}  // namespace
}  // namespace deckhand::network
