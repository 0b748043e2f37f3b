// A pod's container into config.json, rule by rule, from a template shaped
// like the runtime's default_spec output: process (args, env, cwd, user,
// OOM score), root, hostname, mounts (volumes, subPath, /etc files, what
// they replace), the sandbox's namespaces and cgroup, resources by QoS
// class, capabilities, no_new_privs, seccomp and privileged containers.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pods/oci_spec.hpp"
#include "pods/pod_parse.hpp"

namespace deckhand::pods {
namespace {

using nlohmann::json;
using Strings = std::vector<std::string>;

constexpr int64_t kGi = int64_t{1} << 30;

// What the runtime's default_spec gives (plugins/runtime-native/src/default_spec.cpp),
// trimmed to a few seccomp rules.
json runtime_default_template() {
  return json::parse(R"({
    "ociVersion": "1.0.2",
    "process": {
      "terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
      "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "cwd": "/",
      "capabilities": {
        "bounding": ["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_FSETID","CAP_KILL","CAP_SETGID","CAP_SETUID","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_NET_RAW","CAP_SYS_CHROOT","CAP_MKNOD","CAP_AUDIT_WRITE","CAP_SETFCAP"],
        "effective": ["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_FSETID","CAP_KILL","CAP_SETGID","CAP_SETUID","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_NET_RAW","CAP_SYS_CHROOT","CAP_MKNOD","CAP_AUDIT_WRITE","CAP_SETFCAP"],
        "permitted": ["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FOWNER","CAP_FSETID","CAP_KILL","CAP_SETGID","CAP_SETUID","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_NET_RAW","CAP_SYS_CHROOT","CAP_MKNOD","CAP_AUDIT_WRITE","CAP_SETFCAP"]
      },
      "noNewPrivileges": true
    },
    "root": {"path": "rootfs", "readonly": false},
    "hostname": "deckhand",
    "mounts": [
      {"destination": "/proc", "type": "proc", "source": "proc"},
      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","strictatime","mode=755","size=65536k"]},
      {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
      {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid","noexec","nodev","mode=1777","size=65536k"]},
      {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid","noexec","nodev"]},
      {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid","noexec","nodev","ro"]},
      {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid","noexec","nodev","relatime","ro"]}
    ],
    "linux": {
      "resources": {"devices": [{"allow": false, "access": "rwm"}]},
      "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
      "maskedPaths": ["/proc/acpi", "/proc/kcore", "/sys/firmware"],
      "readonlyPaths": ["/proc/bus", "/proc/sys"],
      "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                  "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}
    }
  })");
}

const Strings kAllCapabilities = {"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_KILL"};

json privileged_template() {
  json spec = runtime_default_template();
  for (const char* set : {"bounding", "effective", "permitted"}) spec["process"]["capabilities"][set] = kAllCapabilities;
  spec["process"]["noNewPrivileges"] = false;
  spec["linux"].erase("seccomp");
  spec["linux"].erase("maskedPaths");
  spec["linux"].erase("readonlyPaths");
  spec["linux"]["resources"]["devices"] = json::parse(R"([{"allow": true, "access": "rwm"}])");
  return spec;
}

ContainerSpecInputs default_inputs() {
  ContainerSpecInputs inputs;
  inputs.template_spec = runtime_default_template();
  inputs.image_config = json::parse(R"({"platform": "linux/amd64", "config": {
      "Env": ["PATH=/opt/app/bin:/usr/bin:/bin", "LANG=C.UTF-8"],
      "Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["nginx", "-g", "daemon off;"],
      "WorkingDir": "/srv", "User": "101"}})");
  inputs.root = {{"path", "/run/deckhand-test/no-such-rootfs"}, {"readonly", false}};
  inputs.sandbox_id = "sb-1";
  inputs.cgroups_path = "kubepods/burstable/podu-1";
  inputs.namespace_paths = {{"network", "/run/deckhand/netns/sb-1"},
                            {"ipc", "/run/deckhand/runtime/.sandboxes/sb-1/ipc"},
                            {"uts", "/run/deckhand/runtime/.sandboxes/sb-1/uts"}};
  inputs.volume_paths = {{"data", "/var/lib/deckhand/pods/u-1/volumes/data"}, {"cache", "/var/lib/deckhand/pods/u-1/volumes/cache"}};
  inputs.pod_ip = "10.1.0.7";
  inputs.host_ip = "192.168.1.5";
  inputs.node_name = "node-a";
  inputs.etc_hosts_path = "/var/lib/deckhand/pods/u-1/etc-hosts";
  inputs.etc_hostname_path = "/var/lib/deckhand/pods/u-1/hostname";
  inputs.resolv_conf_path = "/var/lib/deckhand/pods/u-1/resolv.conf";
  inputs.node_memory_bytes = 4 * kGi;
  return inputs;
}

// A pod with one container "app"; `container_yaml` and `spec_yaml` add fields.
Pod make_pod(const std::string& container_yaml = "", const std::string& spec_yaml = "") {
  return parse_manifest("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, uid: u-1}\nspec:\n" + spec_yaml +
                            "  containers:\n  - name: app\n    image: nginx:1.27\n" + container_yaml,
                        "test.yaml")
      .at(0);
}

json build(const Pod& pod, const ContainerSpecInputs& inputs = default_inputs()) {
  return build_container_spec(pod, pod.spec.containers.at(0), inputs);
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

const json* find_mount(const json& spec, const std::string& destination) {
  for (const json& mount : spec["mounts"]) {
    if (mount["destination"] == destination) return &mount;
  }
  return nullptr;
}

Strings destinations(const json& spec) {
  Strings out;
  for (const json& mount : spec["mounts"]) out.push_back(mount["destination"].get<std::string>());
  return out;
}

// ---- the profile ----

TEST(PodOciSpecProfile, PrivilegedContainersGetThePrivilegedTemplate) {
  EXPECT_STREQ(template_profile(make_pod(), make_pod().spec.containers[0]), "RuntimeDefault");
  const Pod privileged = make_pod("    securityContext: {privileged: true}\n");
  EXPECT_STREQ(template_profile(privileged, privileged.spec.containers[0]), "Privileged");
}

// ---- process ----

TEST(PodOciSpecProcess, ImageDefaultsFillWhatTheContainerLeavesOut) {
  const json spec = build(make_pod());
  EXPECT_EQ(spec["process"]["args"], json({"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}));
  EXPECT_EQ(spec["process"]["cwd"], "/srv");
  EXPECT_EQ(spec["process"]["user"], json::parse(R"({"uid": 101, "gid": 0, "additionalGids": [0]})"));
  EXPECT_EQ(spec["process"]["terminal"], false);
}

TEST(PodOciSpecProcess, EnvIsTheTemplatesThenHostnameThenTheImagesThenTheContainers) {
  const Pod pod = make_pod(R"yaml(    command: [/bin/app, "--ip=$(MY_IP)"]
    workingDir: /work
    env:
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: LANG, value: en_US.UTF-8}
    - {name: GREETING, value: "hi $(LANG)"}
)yaml");
  const json spec = build(pod);
  EXPECT_EQ(spec["process"]["env"], json({"PATH=/opt/app/bin:/usr/bin:/bin", "HOSTNAME=web", "LANG=en_US.UTF-8",
                                          "MY_IP=10.1.0.7", "GREETING=hi en_US.UTF-8"}));
  EXPECT_EQ(spec["process"]["args"], json({"/bin/app", "--ip=10.1.0.7"}));
  EXPECT_EQ(spec["process"]["cwd"], "/work");
}

TEST(PodOciSpecProcess, WithoutAnImageConfigTheTemplatesPathAndRootDirectoryStay) {
  ContainerSpecInputs inputs = default_inputs();
  inputs.image_config = json::parse(R"({"platform": "linux/amd64"})");
  const Pod pod = make_pod("    command: [/bin/true]\n    env: [{name: HOSTNAME, value: mine}]\n");
  const json spec = build(pod, inputs);
  EXPECT_EQ(spec["process"]["env"],
            json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=mine"}));
  EXPECT_EQ(spec["process"]["cwd"], "/");
  EXPECT_EQ(spec["process"]["user"]["uid"], 0);
}

TEST(PodOciSpecProcess, NoCommandAnywhereIsAnError) {
  ContainerSpecInputs inputs = default_inputs();
  inputs.image_config = json::object();
  const ContainerConfigError error = config_error_of([&] { build(make_pod(), inputs); });
  EXPECT_STREQ(error.what(), "no command specified");
  EXPECT_EQ(error.reason(), "CreateContainerError");
}

TEST(PodOciSpecProcess, AMalformedImageConfigIsRefusedByField) {
  ContainerSpecInputs inputs = default_inputs();
  inputs.image_config = json::parse(R"({"config": {"Env": "A=1"}})");
  EXPECT_STREQ(config_error_of([&] { build(make_pod(), inputs); }).what(), "image config: config.Env: must be a list of strings");
  inputs.image_config = json::parse(R"({"config": {"User": 0}})");
  EXPECT_STREQ(config_error_of([&] { build(make_pod(), inputs); }).what(), "image config: config.User: must be a string");
}

TEST(PodOciSpecProcess, RunAsNonRootRefusesAnImageThatRunsAsRoot) {
  ContainerSpecInputs inputs = default_inputs();
  inputs.image_config["config"].erase("User");
  const ContainerConfigError error = config_error_of([&] { build(make_pod("", "  securityContext: {runAsNonRoot: true}\n"), inputs); });
  EXPECT_STREQ(error.what(), R"msg(container has runAsNonRoot and image will run as root (pod: "web_shop(u-1)", container: app))msg");
  EXPECT_EQ(error.reason(), "CreateContainerConfigError");
}

TEST(PodOciSpecProcess, ResolvesANamedImageUserFromTheRootFilesystem) {
  namespace fs = std::filesystem;
  std::string pattern = (fs::temp_directory_path() / "deckhand-oci-rootfs-XXXXXX").string();
  const std::string root = ::mkdtemp(pattern.data());
  fs::create_directories(fs::path(root) / "etc");
  std::ofstream(fs::path(root) / "etc/passwd") << "root:x:0:0::/root:/bin/sh\nnginx:x:101:101::/:/sbin/nologin\n";
  std::ofstream(fs::path(root) / "etc/group") << "nginx:x:101:\nwww-data:x:33:nginx\n";
  ContainerSpecInputs inputs = default_inputs();
  inputs.image_config["config"]["User"] = "nginx";
  inputs.root = {{"path", root}, {"readonly", false}};
  const json spec = build(make_pod("", "  securityContext: {fsGroup: 2000}\n"), inputs);
  fs::remove_all(root);
  EXPECT_EQ(spec["process"]["user"], json::parse(R"({"uid": 101, "gid": 101, "additionalGids": [101, 33, 2000]})"));
  EXPECT_EQ(spec["root"], inputs.root);
}

// ---- root and hostname ----

TEST(PodOciSpecRoot, ReadOnlyRootFilesystemMakesTheRootReadOnly) {
  EXPECT_EQ(build(make_pod())["root"]["readonly"], false);
  EXPECT_EQ(build(make_pod("    securityContext: {readOnlyRootFilesystem: true}\n"))["root"],
            json::parse(R"({"path": "/run/deckhand-test/no-such-rootfs", "readonly": true})"));
}

TEST(PodOciSpecRoot, HostnameIsSpecHostnameOrThePodNameCutTo63) {
  EXPECT_EQ(build(make_pod())["hostname"], "web");
  EXPECT_EQ(build(make_pod("", "  hostname: db-0\n"))["hostname"], "db-0");
  Pod long_name = make_pod();
  long_name.metadata.name = std::string(60, 'a') + "-b.-cdef";
  EXPECT_EQ(pod_hostname(long_name), std::string(60, 'a') + "-b");
}

// ---- mounts ----

TEST(PodOciSpecMounts, VolumesAreBoundWithTheirSubPathAndReadOnlyFlag) {
  const Pod pod = make_pod(R"yaml(    volumeMounts:
    - {name: data, mountPath: /var/lib/app/data}
    - {name: cache, mountPath: /cache, readOnly: true}
    - {name: data, mountPath: /etc/app/conf.d/, subPath: ./conf//site}
  volumes: [{name: data, emptyDir: {}}, {name: cache, emptyDir: {}}]
)yaml");
  const json spec = build(pod);
  EXPECT_EQ(*find_mount(spec, "/var/lib/app/data"), json::parse(R"({"destination": "/var/lib/app/data", "type": "bind",
      "source": "/var/lib/deckhand/pods/u-1/volumes/data", "options": ["rbind", "rprivate", "rw"]})"));
  EXPECT_EQ((*find_mount(spec, "/cache"))["options"], json({"rbind", "rprivate", "ro"}));
  EXPECT_EQ((*find_mount(spec, "/etc/app/conf.d"))["source"], "/var/lib/deckhand/pods/u-1/volumes/data/conf/site");
  // The template's first, then the binds by depth (stable): none hides a deeper one.
  EXPECT_EQ(destinations(spec), (Strings{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup",
                                         "/cache", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf",
                                         "/etc/app/conf.d", "/var/lib/app/data"}));
}

TEST(PodOciSpecMounts, EtcFilesAreReadOnlyWithAReadOnlyRootExceptHosts) {
  const json writable = build(make_pod());
  for (const char* file : {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}) {
    EXPECT_EQ((*find_mount(writable, file))["options"], json({"rbind", "rprivate", "rw"})) << file;
  }
  const json read_only = build(make_pod("    securityContext: {readOnlyRootFilesystem: true}\n"));
  EXPECT_EQ((*find_mount(read_only, "/etc/hosts"))["options"], json({"rbind", "rprivate", "rw"}));
  EXPECT_EQ((*find_mount(read_only, "/etc/hostname"))["options"], json({"rbind", "rprivate", "ro"}));
  EXPECT_EQ((*find_mount(read_only, "/etc/resolv.conf"))["source"], "/var/lib/deckhand/pods/u-1/resolv.conf");
  ContainerSpecInputs inputs = default_inputs();
  inputs.etc_hosts_path.clear();
  inputs.resolv_conf_path.clear();
  const json without = build(make_pod(), inputs);
  EXPECT_EQ(find_mount(without, "/etc/hosts"), nullptr);
  EXPECT_EQ(find_mount(without, "/etc/resolv.conf"), nullptr);
  EXPECT_NE(find_mount(without, "/etc/hostname"), nullptr);
}

TEST(PodOciSpecMounts, AVolumeReplacesWhatWouldBeMountedAtTheSamePlace) {
  const Pod pod = make_pod(R"yaml(    volumeMounts:
    - {name: data, mountPath: /etc/hosts, subPath: hosts}
    - {name: cache, mountPath: /dev/shm}
  volumes: [{name: data, emptyDir: {}}, {name: cache, emptyDir: {medium: Memory}}]
)yaml");
  const json spec = build(pod);
  EXPECT_EQ((*find_mount(spec, "/etc/hosts"))["source"], "/var/lib/deckhand/pods/u-1/volumes/data/hosts");
  EXPECT_EQ((*find_mount(spec, "/dev/shm"))["type"], "bind");
  const Strings all = destinations(spec);
  EXPECT_EQ(std::count(all.begin(), all.end(), "/dev/shm"), 1);
  EXPECT_EQ(std::count(all.begin(), all.end(), "/etc/hosts"), 1);

  const json dev = build(make_pod("    volumeMounts: [{name: data, mountPath: /dev}]\n  volumes: [{name: data, emptyDir: {}}]\n"));
  EXPECT_EQ(destinations(dev), (Strings{"/proc", "/sys", "/sys/fs/cgroup", "/dev", "/etc/hosts", "/etc/hostname",
                                        "/etc/resolv.conf"}));
}

TEST(PodOciSpecMounts, RefusesSubPathsLeavingTheVolumeAndUnknownVolumes) {
  struct Case {
    std::string mount_yaml, message;
  };
  const std::vector<Case> cases = {
      {"{name: data, mountPath: /x, subPath: ../x}", "unable to provision SubPath `../x`: must not contain '..'"},
      {"{name: data, mountPath: /x, subPath: a/../../b}", "unable to provision SubPath `a/../../b`: must not contain '..'"},
      {"{name: data, mountPath: /x, subPath: a/..}", "unable to provision SubPath `a/..`: must not contain '..'"},
      {"{name: data, mountPath: /x, subPath: /etc}", "error SubPath `/etc` must not be an absolute path"},
      {"{name: logs, mountPath: /x}", R"(cannot find volume "logs" to mount into container "app")"},
  };
  for (const Case& c : cases) {
    const Pod pod = make_pod("    volumeMounts: [" + c.mount_yaml + "]\n  volumes: [{name: data, emptyDir: {}}]\n");
    const ContainerConfigError error = config_error_of([&] { build(pod); });
    EXPECT_EQ(error.what(), c.message);
    EXPECT_EQ(error.reason(), "CreateContainerConfigError");
  }
  // ".." inside a name is no step up.
  const Pod dots = make_pod("    volumeMounts: [{name: data, mountPath: /x, subPath: a..b/..c}]\n  volumes: [{name: data, emptyDir: {}}]\n");
  EXPECT_EQ((*find_mount(build(dots), "/x"))["source"], "/var/lib/deckhand/pods/u-1/volumes/data/a..b/..c");
}

// ---- namespaces and cgroup ----

TEST(PodOciSpecNamespaces, ContainersJoinTheSandboxesPinsAndKeepTheirOwnPidMountAndCgroup) {
  const json spec = build(make_pod());
  EXPECT_EQ(spec["linux"]["namespaces"], json::parse(R"([{"type": "pid"},
      {"type": "network", "path": "/run/deckhand/netns/sb-1"},
      {"type": "ipc", "path": "/run/deckhand/runtime/.sandboxes/sb-1/ipc"},
      {"type": "uts", "path": "/run/deckhand/runtime/.sandboxes/sb-1/uts"},
      {"type": "mount"}, {"type": "cgroup"}])"));
  EXPECT_EQ(spec["linux"]["cgroupsPath"], "kubepods/burstable/podu-1/app");
  EXPECT_EQ(spec["annotations"], json::parse(R"({"io.kubernetes.cri.container-type": "container",
      "io.kubernetes.cri.sandbox-id": "sb-1", "io.kubernetes.cri.sandbox-name": "web",
      "io.kubernetes.cri.sandbox-namespace": "shop", "io.kubernetes.cri.sandbox-uid": "u-1",
      "io.kubernetes.cri.container-name": "app", "io.kubernetes.cri.image-name": "nginx:1.27"})"));
}

TEST(PodOciSpecNamespaces, HostNetworkPodsKeepTheHostsNetworkAndHostname) {
  ContainerSpecInputs inputs = default_inputs();
  inputs.namespace_paths = {{"ipc", "/run/deckhand/runtime/.sandboxes/sb-1/ipc"}};
  inputs.node_hostname = "machine-7";
  const json spec = build(make_pod("", "  hostNetwork: true\n"), inputs);
  EXPECT_EQ(spec["linux"]["namespaces"], json::parse(R"([{"type": "pid"},
      {"type": "ipc", "path": "/run/deckhand/runtime/.sandboxes/sb-1/ipc"}, {"type": "mount"}, {"type": "cgroup"}])"));
  EXPECT_FALSE(spec.contains("hostname"));
  EXPECT_EQ(spec["process"]["env"][1], "HOSTNAME=machine-7");
}

TEST(PodOciSpecNamespaces, PinsThatDoNotMatchThePodAreTheCallersMistake) {
  ContainerSpecInputs inputs = default_inputs();
  EXPECT_THROW(build(make_pod("", "  hostNetwork: true\n"), inputs), std::invalid_argument);  // a network pin for hostNetwork
  inputs.namespace_paths.erase("uts");
  EXPECT_THROW(build(make_pod(), inputs), std::invalid_argument);
}

// ---- resources and OOM score by QoS class ----

struct QosCase {
  std::string name, resources_yaml;
  uint64_t shares;
  std::optional<int64_t> quota, memory_limit;
  int oom_score_adj;
};

TEST(PodOciSpecResources, SharesQuotaMemoryAndOomScoreFollowTheQosClass) {
  const std::vector<QosCase> cases = {
      {"Guaranteed", "{limits: {cpu: 500m, memory: 128Mi}}", 512, 50000, 128 << 20, -997},
      {"Burstable", "{requests: {cpu: 250m, memory: 1Gi}, limits: {memory: 2Gi}}", 256, std::nullopt, 2 * kGi, 750},
      {"Burstable without a cpu request", "{requests: {memory: 64Mi}}", 2, std::nullopt, std::nullopt, 985},
      {"Burstable with a cpu limit", "{requests: {cpu: 100m}, limits: {cpu: 1500m}}", 102, 150000, std::nullopt, 999},
      {"Burstable above the node's memory", "{requests: {memory: 8Gi}}", 2, std::nullopt, std::nullopt, 3},
      {"BestEffort", "{}", 2, std::nullopt, std::nullopt, 1000},
  };
  for (const QosCase& c : cases) {
    const json spec = build(make_pod("    resources: " + c.resources_yaml + "\n"));
    const json& resources = spec["linux"]["resources"];
    EXPECT_EQ(resources["cpu"]["shares"], c.shares) << c.name;
    EXPECT_EQ(resources["cpu"]["period"], 100000) << c.name;
    EXPECT_EQ(resources["cpu"].contains("quota") ? std::optional(resources["cpu"]["quota"].get<int64_t>()) : std::nullopt, c.quota)
        << c.name;
    if (c.memory_limit) {
      EXPECT_EQ(resources.value("memory", json()), json({{"limit", *c.memory_limit}, {"swap", *c.memory_limit}})) << c.name;
    } else {
      EXPECT_FALSE(resources.contains("memory")) << c.name;
    }
    EXPECT_EQ(resources["devices"], runtime_default_template()["linux"]["resources"]["devices"]) << c.name;
    EXPECT_EQ(spec["process"]["oomScoreAdj"], c.oom_score_adj) << c.name;
  }
}

TEST(PodOciSpecResources, SharesAndQuotaConversionsAtTheirBounds) {
  EXPECT_EQ(milli_cpu_to_shares(0), 2u);
  EXPECT_EQ(milli_cpu_to_shares(1), 2u);
  EXPECT_EQ(milli_cpu_to_shares(1000), 1024u);
  EXPECT_EQ(milli_cpu_to_shares(256000), 262144u);
  EXPECT_EQ(milli_cpu_to_shares(int64_t{1} << 62), 262144u);
  EXPECT_EQ(milli_cpu_to_quota(0), 0);
  EXPECT_EQ(milli_cpu_to_quota(1), 1000);  // at least 1 ms
  EXPECT_EQ(milli_cpu_to_quota(2000), 200000);
  Pod burstable = make_pod("    resources: {requests: {memory: 1Gi}}\n");
  EXPECT_THROW(container_oom_score_adj(burstable, burstable.spec.containers[0], 0), std::invalid_argument);
}

// ---- security ----

Strings capability_set(const json& spec, const char* set) {
  return spec["process"]["capabilities"][set].get<Strings>();
}

TEST(PodOciSpecSecurity, TheDefaultKeepsTheTemplateButNoNewPrivsAsKubernetesSetsIt) {
  const json spec = build(make_pod());
  const json template_spec = runtime_default_template();
  EXPECT_EQ(spec["process"]["capabilities"], template_spec["process"]["capabilities"]);
  EXPECT_EQ(spec["linux"]["seccomp"], template_spec["linux"]["seccomp"]);
  EXPECT_EQ(spec["linux"]["maskedPaths"], template_spec["linux"]["maskedPaths"]);
  EXPECT_EQ(spec["linux"]["readonlyPaths"], template_spec["linux"]["readonlyPaths"]);
  EXPECT_EQ(spec["process"]["noNewPrivileges"], false);  // only allowPrivilegeEscalation: false sets it
  EXPECT_EQ(build(make_pod("    securityContext: {allowPrivilegeEscalation: false}\n"))["process"]["noNewPrivileges"], true);
  EXPECT_EQ(build(make_pod("    securityContext: {allowPrivilegeEscalation: true}\n"))["process"]["noNewPrivileges"], false);
}

TEST(PodOciSpecSecurity, CapabilitiesAreAddedAndDroppedAsContainerdDoes) {
  ContainerSpecInputs inputs = default_inputs();
  inputs.all_capabilities = kAllCapabilities;
  auto caps_of = [&inputs](const std::string& capabilities_yaml) {
    return build(make_pod("    securityContext: {capabilities: " + capabilities_yaml + "}\n"), inputs);
  };
  const json added = caps_of("{add: [NET_ADMIN], drop: [CHOWN, NET_RAW]}");
  for (const char* set : {"bounding", "effective", "permitted"}) {
    const Strings caps = capability_set(added, set);
    EXPECT_EQ(caps.size(), 13u) << set;
    EXPECT_EQ(caps.back(), "CAP_NET_ADMIN") << set;
    EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_CHOWN"), 0) << set;
    EXPECT_EQ(std::count(caps.begin(), caps.end(), "CAP_NET_RAW"), 0) << set;
  }
  EXPECT_FALSE(added["process"]["capabilities"].contains("ambient"));
  // drop ALL applies before the names added: they survive it.
  EXPECT_EQ(capability_set(caps_of("{drop: [ALL], add: [NET_BIND_SERVICE]}"), "effective"), (Strings{"CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(capability_set(caps_of("{drop: [ALL]}"), "bounding"), Strings{});
  EXPECT_EQ(capability_set(caps_of("{add: [ALL], drop: [SYS_ADMIN]}"), "permitted"),
            (Strings{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_KILL"}));
  EXPECT_EQ(capability_set(caps_of("{add: [KILL]}"), "bounding"), capability_set(build(make_pod()), "bounding"));  // no repeat
  inputs.all_capabilities.clear();
  EXPECT_THROW(caps_of("{add: [ALL]}"), std::invalid_argument);
}

TEST(PodOciSpecSecurity, PrivilegedTakesThePrivilegedTemplateAndIgnoresAddAndDrop) {
  ContainerSpecInputs inputs = default_inputs();
  inputs.template_spec = privileged_template();
  const json spec =
      build(make_pod("    securityContext: {privileged: true, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}\n"),
            inputs);
  EXPECT_EQ(capability_set(spec, "bounding"), kAllCapabilities);
  EXPECT_FALSE(spec["linux"].contains("seccomp"));
  EXPECT_FALSE(spec["linux"].contains("maskedPaths"));
  EXPECT_EQ(spec["linux"]["resources"]["devices"], privileged_template()["linux"]["resources"]["devices"]);
  EXPECT_EQ(spec["process"]["noNewPrivileges"], false);
}

TEST(PodOciSpecSecurity, SeccompIsTheContainersThenThePodsThenRuntimeDefault) {
  EXPECT_TRUE(build(make_pod())["linux"].contains("seccomp"));
  const std::string pod_unconfined = "  securityContext: {seccompProfile: {type: Unconfined}}\n";
  EXPECT_FALSE(build(make_pod("", pod_unconfined))["linux"].contains("seccomp"));
  EXPECT_TRUE(build(make_pod("    securityContext: {seccompProfile: {type: RuntimeDefault}}\n", pod_unconfined))["linux"]
                  .contains("seccomp"));
  EXPECT_FALSE(build(make_pod("    securityContext: {seccompProfile: {type: Unconfined}}\n"))["linux"].contains("seccomp"));
  const ContainerConfigError error = config_error_of([] {
    build(make_pod("    securityContext: {seccompProfile: {type: Localhost, localhostProfile: audit.json}}\n"));
  });
  EXPECT_STREQ(error.what(), R"(seccomp profile "audit.json" of container "app": Localhost profiles are not supported yet)");
  // A RuntimeDefault container needs the RuntimeDefault template.
  ContainerSpecInputs inputs = default_inputs();
  inputs.template_spec = privileged_template();
  EXPECT_THROW(build(make_pod(), inputs), std::invalid_argument);
}

}  // namespace
}  // namespace deckhand::pods
