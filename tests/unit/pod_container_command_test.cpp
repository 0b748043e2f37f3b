// A container's process as the kubelet and containerd decide it: $(VAR)
// expansion, env resolution and merging, command/args over the image's
// Entrypoint/Cmd, and the user from runAsUser or the image's User, looked up
// in a temporary root filesystem's /etc/passwd and /etc/group, with
// runAsNonRoot's refusals.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "pods/container_command.hpp"
#include "pods/pod_parse.hpp"

namespace deckhand::pods {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

Pod pod_from(const std::string& yaml) { return parse_manifest(yaml, "test.yaml").at(0); }

// A pod whose one container has `container_yaml` (indented as a list item's fields).
Pod pod_with_container(const std::string& container_yaml, const std::string& pod_spec_yaml = "") {
  return pod_from("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, uid: u-1}\nspec:\n" +
                  pod_spec_yaml + "  containers:\n  - name: app\n    image: example/app:1\n" + container_yaml);
}

template <typename F>
ContainerConfigError config_error_of(F&& f) {
  try {
    f();
  } catch (const ContainerConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no ContainerConfigError";
  return ContainerConfigError("", "");
}

// A root filesystem in a temporary directory, removed with the object.
class TempRootfs {
 public:
  TempRootfs() {
    std::string pattern = (fs::temp_directory_path() / "deckhand-rootfs-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
    fs::create_directories(fs::path(path_) / "etc");
  }
  ~TempRootfs() { fs::remove_all(path_); }
  TempRootfs(const TempRootfs&) = delete;
  TempRootfs& operator=(const TempRootfs&) = delete;

  void write(const std::string& relative, const std::string& content) const {
    std::ofstream(fs::path(path_) / relative) << content;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment line is no entry\n"
    "broken line\n"
    "app:x:1000:1001:App:/home/app:/bin/sh\n"
    "www:x:33:33::/var/www:/usr/sbin/nologin\n";
constexpr const char* kGroup =
    "root:x:0:\n"
    "app:x:1001:app\n"
    "staff:x:50:app,www\n"
    "video:x:44:www\n"
    "audio:x:29:app\n";

// ---- $(VAR) expansion ----

TEST(PodContainerCommandExpansion, FollowsKubernetesExpansionRules) {
  const std::map<std::string, std::string> vars = {{"A", "a"}, {"B", "b"}, {"REF", "$(A)"}, {"EMPTY", ""}};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"$(A)", "a"},
      {"x$(A)y$(B)z", "xaybz"},
      {"$(A)$(B)", "ab"},
      {"$$(A)", "$(A)"},              // escaped
      {"$$$(A)", "$a"},               // escape, then a reference
      {"$$$$", "$$"},
      {"$(UNDEFINED)", "$(UNDEFINED)"},  // unknown: kept as written
      {"$(EMPTY)", ""},
      {"$(REF)", "$(A)"},             // values are not expanded again
      {"$(A$(B))", "$(A$(B))"},       // the name runs to the first ')': "A$(B" is unknown
      {"$()", "$()"},
      {"$(A", "$(A"},                 // unclosed
      {"$(A $(B)", "$(A $(B)"},       // the name "A $(B" is unknown
      {"$(A)$(", "a$("},
      {"cost $5", "cost $5"},
      {"ends with $", "ends with $"},
      {"", ""},
  };
  for (const auto& [input, expected] : cases) EXPECT_EQ(expand_references(input, vars), expected) << input;
}

// ---- env ----

TEST(PodContainerCommandEnv, ExpandsEarlierVariablesAndKeepsFirstPositionOfARepeatedName) {
  const Pod pod = pod_with_container(R"yaml(    env:
    - {name: A, value: one}
    - {name: B, value: "$(A)-two-$(C)"}
    - {name: C, value: three}
    - {name: A, value: "$(A)+again"}
    - {name: ESCAPED, value: "$$(A)"}
    - {name: SELF, value: "$(SELF)"}
)yaml");
  const EnvList env = resolve_container_env(pod, pod.spec.containers[0], {});
  const EnvList expected = {
      {"A", "one+again"}, {"B", "one-two-$(C)"}, {"C", "three"}, {"ESCAPED", "$(A)"}, {"SELF", "$(SELF)"}};
  EXPECT_EQ(env, expected);
}

TEST(PodContainerCommandEnv, FillsTheDownwardApiFieldsWithoutExpandingThem) {
  const Pod pod = pod_with_container(R"yaml(    env:
    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
    - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
    - {name: URL, value: "http://$(IP):80/$(POD)"}
)yaml");
  const EnvList env = resolve_container_env(pod, pod.spec.containers[0], {"10.1.0.7", "192.168.1.5", "node-a"});
  const EnvList expected = {{"POD", "web"},          {"NS", "shop"},        {"UID", "u-1"},
                            {"IP", "10.1.0.7"},      {"HOST_IP", "192.168.1.5"}, {"NODE", "node-a"},
                            {"SA", "default"},       {"URL", "http://10.1.0.7:80/web"}};
  EXPECT_EQ(env, expected);
}

TEST(PodContainerCommandEnv, MergeReplacesInPlaceAppendsAndUnsets) {
  EXPECT_EQ(merge_env({"PATH=/bin", "HOME=/root", "TERM=xterm"}, {"HOME=/home/app", "NEW=1", "TERM", "PATH=/usr/bin"}),
            (Strings{"PATH=/usr/bin", "HOME=/home/app", "NEW=1"}));
  EXPECT_EQ(merge_env({}, {"A=1", "A=2", "B="}), (Strings{"A=2", "B="}));
}

// ---- command and args ----

TEST(PodContainerCommandArgs, CombinesCommandAndArgsWithTheImageAsContainerdDoes) {
  const ImageCommand image{{"/entry", "--flag"}, {"default-arg"}};
  struct Case {
    Strings command, args, expected;
  };
  const std::vector<Case> cases = {
      {{}, {}, {"/entry", "--flag", "default-arg"}},        // the image's both
      {{}, {"mine"}, {"/entry", "--flag", "mine"}},         // args replace Cmd only
      {{"/bin/app"}, {}, {"/bin/app"}},                     // command drops the image's Cmd too
      {{"/bin/app"}, {"x", "y"}, {"/bin/app", "x", "y"}},
  };
  for (const Case& c : cases) {
    Container container;
    container.command = c.command;
    container.args = c.args;
    EXPECT_EQ(container_process_args(container, {}, image), c.expected);
  }
}

TEST(PodContainerCommandArgs, AnEntrypointOfOneEmptyStringIsNone) {
  Container container;
  EXPECT_EQ(container_process_args(container, {}, {{""}, {"/bin/sh", "-c", "true"}}),
            (Strings{"/bin/sh", "-c", "true"}));
}

TEST(PodContainerCommandArgs, NothingToRunIsAnError) {
  const ContainerConfigError error = config_error_of([] { container_process_args(Container{}, {}, {}); });
  EXPECT_STREQ(error.what(), "no command specified");
  EXPECT_EQ(error.reason(), "CreateContainerError");
  // An Entrypoint reset with no Cmd leaves nothing either.
  EXPECT_THROW(container_process_args(Container{}, {}, {{""}, {}}), ContainerConfigError);
}

TEST(PodContainerCommandArgs, ExpandsFromTheContainerEnvOnly) {
  Container container;
  container.command = {"/bin/echo", "$(GREETING)", "$$(GREETING)", "$(IMAGE_VAR)"};
  container.args = {"$(NAME)"};
  const EnvList env = {{"GREETING", "hello"}, {"NAME", "world"}};
  EXPECT_EQ(container_process_args(container, env, {}),
            (Strings{"/bin/echo", "hello", "$(GREETING)", "$(IMAGE_VAR)", "world"}));
}

// ---- /etc/passwd and /etc/group ----

TEST(PodContainerCommandUser, ParsesPasswdAndGroupSkippingMalformedLines) {
  const std::vector<PasswdEntry> passwd = parse_passwd(std::string(kPasswd) + "neg:x:-1:0::/:/bin/sh\nbig:x:99999999999:0::/:\n");
  ASSERT_EQ(passwd.size(), 3u);
  EXPECT_EQ(passwd[1].name, "app");
  EXPECT_EQ(passwd[1].uid, 1000u);
  EXPECT_EQ(passwd[1].gid, 1001u);
  const std::vector<GroupEntry> groups = parse_group(std::string(kGroup) + "nogid:x::a\n");
  ASSERT_EQ(groups.size(), 5u);
  EXPECT_EQ(groups[2].name, "staff");
  EXPECT_EQ(groups[2].members, (Strings{"app", "www"}));
  EXPECT_TRUE(groups[0].members.empty());
}

struct UserCase {
  std::string container_yaml;  // securityContext lines, or ""
  std::string image_user;
  uint32_t uid, gid;
  std::vector<uint32_t> additional_gids;
};

TEST(PodContainerCommandUser, ResolvesFromRunAsUserOrTheImageWithTheRootfsDatabases) {
  TempRootfs rootfs;
  rootfs.write("etc/passwd", kPasswd);
  rootfs.write("etc/group", kGroup);
  const std::vector<UserCase> cases = {
      {"", "", 0, 0, {0}},                          // no user: root
      {"", "app", 1000, 1001, {1001, 50, 29}},      // a name: uid, gid and memberships from the image
      {"", "app:video", 1000, 1001, {1001, 50, 29}},  // the image's group is dropped (kubernetes#61967)
      {"", "1000", 1000, 1001, {1001, 50, 29}},     // a uid takes its gid from passwd
      {"", "4242", 4242, 0, {0}},                   // ...or 0 when passwd does not have it
      {"", "33:44", 33, 33, {33, 50, 44}},
      {"    securityContext: {runAsUser: 33}\n", "app", 33, 33, {33, 50, 44}},
      {"    securityContext: {runAsUser: 1000, runAsGroup: 7}\n", "", 1000, 7, {7, 50, 29}},
      {"    securityContext: {runAsGroup: 7}\n", "app", 1000, 7, {7, 50, 29}},
  };
  for (const UserCase& c : cases) {
    const Pod pod = pod_with_container(c.container_yaml);
    const ProcessUser user = resolve_process_user(pod, pod.spec.containers[0], c.image_user, rootfs.path());
    EXPECT_EQ(user.uid, c.uid) << c.image_user << " " << c.container_yaml;
    EXPECT_EQ(user.gid, c.gid) << c.image_user << " " << c.container_yaml;
    EXPECT_EQ(user.additional_gids, c.additional_gids) << c.image_user << " " << c.container_yaml;
  }
}

TEST(PodContainerCommandUser, ContainerSettingsOverThePodsAndFsGroupThenSupplementalGroups) {
  const Pod pod = pod_with_container("    securityContext: {runAsUser: 5}\n",
                                     "  securityContext: {runAsUser: 6, runAsGroup: 60, fsGroup: 2000, "
                                     "supplementalGroups: [3000, 60, 2000, 4000]}\n");
  const ProcessUser user = resolve_process_user(pod, pod.spec.containers[0], "", "");
  EXPECT_EQ(user.uid, 5u);
  EXPECT_EQ(user.gid, 60u);
  EXPECT_EQ(user.additional_gids, (std::vector<uint32_t>{60, 2000, 3000, 4000}));
}

TEST(PodContainerCommandUser, ANameTheImageDoesNotDefineIsAnError) {
  TempRootfs rootfs;
  rootfs.write("etc/passwd", kPasswd);
  const Pod pod = pod_with_container("");
  EXPECT_STREQ(config_error_of([&] { resolve_process_user(pod, pod.spec.containers[0], "nobody", rootfs.path()); }).what(),
               "unable to find user nobody: no matching entries in passwd file");
  // Without a readable root filesystem a name cannot be resolved at all.
  const ContainerConfigError error =
      config_error_of([&] { resolve_process_user(pod, pod.spec.containers[0], "app", "relative/rootfs"); });
  EXPECT_EQ(error.reason(), "CreateContainerError");
}

TEST(PodContainerCommandUser, RefusesIdsOutsideTheSignedRange) {
  const Pod pod = pod_with_container("");
  for (const std::string image_user : {"-1", "4294967296", "2147483648"}) {
    EXPECT_THROW(resolve_process_user(pod, pod.spec.containers[0], image_user, ""), ContainerConfigError) << image_user;
  }
  EXPECT_EQ(resolve_process_user(pod, pod.spec.containers[0], "2147483647", "").uid, 2147483647u);
}

TEST(PodContainerCommandUser, RunAsNonRootRefusesRootWithTheKubeletsMessages) {
  const std::string non_root = "    securityContext: {runAsNonRoot: true}\n";
  const std::string where = R"msg((pod: "web_shop(u-1)", container: app))msg";
  {
    const Pod pod = pod_with_container(non_root);
    for (const std::string image_user : {"", "0", "0:1000"}) {
      const ContainerConfigError error =
          config_error_of([&] { resolve_process_user(pod, pod.spec.containers[0], image_user, ""); });
      EXPECT_EQ(error.what(), "container has runAsNonRoot and image will run as root " + where) << image_user;
      EXPECT_EQ(error.reason(), "CreateContainerConfigError");
    }
    EXPECT_EQ(std::string(config_error_of([&] {
                            resolve_process_user(pod, pod.spec.containers[0], "app", "");
                          }).what()),
              "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root " + where);
    EXPECT_EQ(resolve_process_user(pod, pod.spec.containers[0], "1000", "").uid, 1000u);
  }
  {
    const Pod pod = pod_with_container("    securityContext: {runAsUser: 0}\n", "  securityContext: {runAsNonRoot: true}\n");
    EXPECT_EQ(std::string(config_error_of([&] { resolve_process_user(pod, pod.spec.containers[0], "1000", ""); }).what()),
              "container's runAsUser breaks non-root policy " + where);
  }
  {  // runAsUser decides, whatever the image says; and a false setting allows root
    const Pod pod = pod_with_container("    securityContext: {runAsUser: 1000}\n", "  securityContext: {runAsNonRoot: true}\n");
    EXPECT_EQ(resolve_process_user(pod, pod.spec.containers[0], "root", "").uid, 1000u);
    const Pod allowed = pod_with_container("    securityContext: {runAsNonRoot: false}\n");
    EXPECT_EQ(resolve_process_user(allowed, allowed.spec.containers[0], "", "").uid, 0u);
  }
}

// ---- reading the root filesystem ----

TEST(PodContainerCommandRootfs, SymlinksResolveInsideTheRootFilesystem) {
  TempRootfs rootfs;
  fs::create_directories(fs::path(rootfs.path()) / "data");
  rootfs.write("data/passwd", "inside:x:7:7::/:/bin/sh\n");
  // An absolute target means the image's /data/passwd, never the host's.
  fs::create_symlink("/data/passwd", fs::path(rootfs.path()) / "etc/passwd");
  fs::create_symlink("../../../../../../etc/hostname", fs::path(rootfs.path()) / "etc/group");
  EXPECT_EQ(read_rootfs_file(rootfs.path(), "etc/passwd"), "inside:x:7:7::/:/bin/sh\n");
  EXPECT_EQ(read_rootfs_file(rootfs.path(), "etc/group"), std::nullopt);  // clamped to the root: no /etc/hostname there
  const Pod pod = pod_with_container("");
  EXPECT_EQ(resolve_process_user(pod, pod.spec.containers[0], "inside", rootfs.path()).uid, 7u);
}

TEST(PodContainerCommandRootfs, RefusesWhatIsNotARegularFileWithoutOpeningIt) {
  TempRootfs rootfs;
  ASSERT_EQ(::mkfifo((fs::path(rootfs.path()) / "etc/passwd").c_str(), 0600), 0);
  fs::create_directories(fs::path(rootfs.path()) / "etc/group");
  const std::string passwd_error = config_error_of([&] { read_rootfs_file(rootfs.path(), "etc/passwd"); }).what();
  EXPECT_EQ(passwd_error, "read etc/passwd of the root filesystem " + rootfs.path() + ": not a regular file");
  EXPECT_THROW(read_rootfs_file(rootfs.path(), "etc/group"), ContainerConfigError);
  EXPECT_EQ(read_rootfs_file(rootfs.path(), "etc/shadow"), std::nullopt);
  EXPECT_EQ(read_rootfs_file(rootfs.path() + "/missing", "etc/passwd"), std::nullopt);
  EXPECT_EQ(read_rootfs_file("", "etc/passwd"), std::nullopt);
}

}  // namespace
}  // namespace deckhand::pods
