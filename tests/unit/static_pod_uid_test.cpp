// The static pod UID: FNV-1a 128 (checked against the published test
// vectors), a given metadata.uid kept, the same pod always the same UID, and
// any change to the pod, the node or the file a new one.
#include <gtest/gtest.h>

#include <string>

#include "pods/pod_parse.hpp"
#include "pods/static_pod_uid.hpp"

namespace deckhand::pods {
namespace {

// 32 lowercase hex digits: the kubelet's static pod UID format.
bool is_hex32(const std::string& text) {
  return text.size() == 32 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Pod pod_from(const std::string& yaml) { return parse_manifest(yaml, "test.yaml").at(0); }

const char* const kWeb =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - {name: app, image: nginx:1.27}\n";

TEST(StaticPodUidTest, Fnv1a128MatchesTheReferenceVectors) {
  // From the FNV reference test suite (and Go's hash/fnv tests).
  EXPECT_EQ(fnv1a_128_hex(""), "6c62272e07bb014262b821756295c58d");
  EXPECT_EQ(fnv1a_128_hex("a"), "d228cb696f1a8caf78912b704e4a8964");
  EXPECT_EQ(fnv1a_128_hex("foobar"), "343e1662793c64bf6f0d3597ba446f18");
  // Every byte value, to exercise the carries of the 128-bit multiply.
  std::string all;
  for (int round = 0; round < 3; ++round) {
    for (int byte = 0; byte < 256; ++byte) all.push_back(static_cast<char>(byte));
  }
  EXPECT_EQ(fnv1a_128_hex(all), "ceced98447397784e46346c4dbaac68d");  // computed with Python's integers
}

TEST(StaticPodUidTest, IsThirtyTwoHexDigitsLikeTheKubelets) {
  EXPECT_TRUE(is_hex32(static_pod_uid(pod_from(kWeb), "node-1", "/etc/deckhand/manifests/web.yaml")));
}

TEST(StaticPodUidTest, SamePodSameUidEveryTime) {
  const std::string first = static_pod_uid(pod_from(kWeb), "node-1", "/m/web.yaml");
  EXPECT_EQ(static_pod_uid(pod_from(kWeb), "node-1", "/m/web.yaml"), first);
  // The same pod written differently (JSON, key order, explicit defaults).
  const Pod json = pod_from(
      R"({"kind": "Pod", "apiVersion": "v1", "metadata": {"namespace": "default", "name": "web"},
          "spec": {"restartPolicy": "Always", "containers": [{"image": "nginx:1.27", "name": "app"}]}})");
  EXPECT_EQ(static_pod_uid(json, "node-1", "/m/web.yaml"), first);
  // The kubelet's recipe: the object, then "host:<node>" and "file:<path>".
  EXPECT_EQ(first, fnv1a_128_hex(pod_to_json(pod_from(kWeb)).dump() + "host:node-1" + "file:/m/web.yaml"));
  // Pinned (FNV-1a 128 of the canonical JSON, computed with Python): if this
  // changes, every static pod's UID changes and an agent upgrade restarts
  // every pod. Change it only on purpose.
  EXPECT_EQ(first, "c33732daa0933d84e1489bd6a35c03ea");
}

TEST(StaticPodUidTest, ChangedPodNodeOrFileGivesANewUid) {
  const std::string base = static_pod_uid(pod_from(kWeb), "node-1", "/m/web.yaml");
  Pod image = pod_from(kWeb);
  image.spec.containers[0].image = "nginx:1.28";
  EXPECT_NE(static_pod_uid(image, "node-1", "/m/web.yaml"), base);
  Pod label = pod_from(kWeb);
  label.metadata.labels["tier"] = "front";
  EXPECT_NE(static_pod_uid(label, "node-1", "/m/web.yaml"), base);
  EXPECT_NE(static_pod_uid(pod_from(kWeb), "node-2", "/m/web.yaml"), base);
  EXPECT_NE(static_pod_uid(pod_from(kWeb), "node-1", "/m/other.yaml"), base);
}

TEST(StaticPodUidTest, AGivenUidIsKept) {
  Pod pod = pod_from(kWeb);
  pod.metadata.uid = "0b8e3c4a-5d6f-4a1b-9c2d-3e4f5a6b7c8d";
  EXPECT_EQ(static_pod_uid(pod, "node-1", "/m/web.yaml"), "0b8e3c4a-5d6f-4a1b-9c2d-3e4f5a6b7c8d");
}

}  // namespace
}  // namespace deckhand::pods
