// Kubernetes' pod validation, rule by rule, with the exact messages kubectl
// prints: names, labels and annotations, containers and their ports, env,
// mounts, resources and security contexts, volumes, host ports and
// hostNetwork, and the combined "Pod "x" is invalid: [...]" message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "k8s_messages.hpp"
#include "pods/pod_parse.hpp"
#include "pods/pod_validate.hpp"

namespace deckhand::pods {
namespace {

using namespace deckhand::pods::test;  // Kubernetes' messages

using Problems = std::vector<std::string>;


// A valid pod, defaulted as parse_manifest returns it.
Pod valid_pod() {
  return parse_manifest(R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
  annotations: {example.com/owner: team-a}
spec:
  containers:
  - name: app
    image: nginx:1.27
    ports: [{name: http, containerPort: 80, hostPort: 8080}]
    env: [{name: MODE, value: production}]
    volumeMounts: [{name: data, mountPath: /data}]
    resources:
      requests: {cpu: 250m, memory: 64Mi}
      limits: {cpu: "1", memory: 128Mi}
  volumes:
  - name: data
    emptyDir: {}
)",
                        "web.yaml")
      .at(0);
}

TEST(PodValidate, AValidPodHasNoProblems) {
  EXPECT_EQ(validate_pod(valid_pod()), Problems{});
  EXPECT_EQ(invalid_pod_message(valid_pod(), {}), "");
}

TEST(PodValidate, MetadataNameAndNamespace) {
  Pod pod = valid_pod();
  pod.metadata.name = "Web";
  pod.metadata.namespace_ = "My.Team";
  EXPECT_EQ(validate_pod(pod), (Problems{"metadata.name: Invalid value: \"Web\": " + kSubdomainRegex,
                                         "metadata.namespace: Invalid value: \"My.Team\": " + kLabelRegex}));
  pod.metadata.name = "";
  pod.metadata.namespace_ = "";
  EXPECT_EQ(validate_pod(pod), (Problems{"metadata.name: Required value: name or generateName is required",
                                         "metadata.namespace: Required value"}));
  pod.metadata.name = "web.example.com";  // a subdomain is a pod name
  pod.metadata.namespace_ = "shop.a";
  EXPECT_EQ(validate_pod(pod), (Problems{"metadata.namespace: Invalid value: \"shop.a\": must not contain dots"}));
}

TEST(PodValidate, LabelsAndAnnotations) {
  Pod pod = valid_pod();
  pod.metadata.labels = {{"-app", "web"}, {"tier", "front end"}};
  pod.metadata.annotations = {{"Example.com/Owner", "a"}, {"bad key", "b"}};
  EXPECT_EQ(validate_pod(pod),
            (Problems{
                "metadata.labels: Invalid value: \"-app\": name part must consist of alphanumeric characters, '-', '_' "
                "or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "metadata.labels: Invalid value: \"front end\": a valid label must be an empty string or consist of "
                "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
                "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                // Annotation keys are checked in lower case: "Example.com/Owner" passes.
                "metadata.annotations: Invalid value: \"bad key\": name part must consist of alphanumeric "
                "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
                "or 'my.name',  or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            }));
  pod = valid_pod();
  pod.metadata.annotations = {{"a", std::string(256 * 1024 - 1, 'x')}};
  EXPECT_EQ(validate_pod(pod), Problems{});
  pod.metadata.annotations = {{"ab", std::string(256 * 1024 - 1, 'x')}};
  EXPECT_EQ(validate_pod(pod), Problems{"metadata.annotations: Too long: must have at most 262144 bytes"});
}

TEST(PodValidate, ContainersAreRequiredNamedAndImaged) {
  Pod pod = valid_pod();
  pod.spec.containers.clear();
  EXPECT_EQ(validate_pod(pod), Problems{"spec.containers: Required value"});

  pod = valid_pod();
  pod.spec.containers.push_back(pod.spec.containers[0]);
  pod.spec.containers[1].ports.clear();
  pod.spec.containers.push_back(pod.spec.containers[1]);
  pod.spec.containers[1].name = "";
  pod.spec.containers[1].image = "";
  pod.spec.containers[2].name = "App_1";
  pod.spec.containers[2].image = " nginx";
  EXPECT_EQ(validate_pod(pod), (Problems{
                                   "spec.containers[1].name: Required value",
                                   "spec.containers[1].image: Required value",
                                   "spec.containers[2].name: Invalid value: \"App_1\": " + kLabelRegex,
                                   "spec.containers[2].image: Invalid value: \" nginx\": must not have leading or "
                                   "trailing whitespace",
                               }));
  pod.spec.containers[1].name = "app";
  pod.spec.containers[1].image = "nginx";
  pod.spec.containers[2].name = "app";
  pod.spec.containers[2].image = "nginx";
  EXPECT_EQ(validate_pod(pod), (Problems{"spec.containers[1].name: Duplicate value: \"app\"",
                                         "spec.containers[2].name: Duplicate value: \"app\""}));
}

TEST(PodValidate, InitContainersMustNotShareNamesWithContainers) {
  Pod pod = valid_pod();
  Container init = pod.spec.containers[0];
  init.ports.clear();
  pod.spec.init_containers = {init, init};
  pod.spec.init_containers[1].name = "migrate";
  pod.spec.init_containers.push_back(pod.spec.init_containers[1]);
  EXPECT_EQ(validate_pod(pod), (Problems{"spec.initContainers[0].name: Duplicate value: \"app\"",
                                         "spec.initContainers[2].name: Duplicate value: \"migrate\""}));
}

TEST(PodValidate, GracePeriodAndPullPolicyAreDefaultedOrRequired) {
  Pod pod = valid_pod();
  pod.spec.termination_grace_period_seconds = -1;
  EXPECT_EQ(validate_pod(pod),
            Problems{"spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"});
  pod.spec.termination_grace_period_seconds = std::nullopt;
  pod.spec.containers[0].image_pull_policy = std::nullopt;
  EXPECT_EQ(validate_pod(pod), (Problems{"spec.terminationGracePeriodSeconds: Required value",
                                         "spec.containers[0].imagePullPolicy: Required value"}));
  pod.spec.termination_grace_period_seconds = 0;
  apply_pod_defaults(pod);
  EXPECT_EQ(validate_pod(pod), Problems{});
}

TEST(PodValidate, ContainerPorts) {
  Pod pod = valid_pod();
  pod.spec.containers[0].ports = {
      {"http", 80, 0, "", Protocol::tcp},      {"http", 81, 0, "", Protocol::tcp},
      {"", 0, 0, "", Protocol::tcp},           {"", 65536, 70000, "", Protocol::udp},
      {"metrics-port-long", 9090, -1, "", Protocol::tcp}, {"", 53, 53, "localhost", Protocol::udp},
  };
  EXPECT_EQ(validate_pod(pod),
            (Problems{
                "spec.containers[0].ports[1].name: Duplicate value: \"http\"",
                "spec.containers[0].ports[2].containerPort: Required value",
                "spec.containers[0].ports[3].containerPort: Invalid value: 65536: must be between 1 and 65535, "
                "inclusive",
                "spec.containers[0].ports[3].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[4].name: Invalid value: \"metrics-port-long\": must be no more than 15 "
                "characters",
                "spec.containers[0].ports[4].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[5].hostIP: Invalid value: \"localhost\": must be a valid IP address, (e.g. "
                "10.9.8.7 or 2001:db8::ffff)",
            }));
}

TEST(PodValidate, HostPortsAreTakenOncePerProtocolAndAddress) {
  Pod pod = valid_pod();
  Container second = pod.spec.containers[0];
  second.name = "second";
  second.volume_mounts.clear();
  second.ports = {{"", 80, 8080, "", Protocol::tcp},      // taken by the first container
                  {"", 80, 8080, "", Protocol::udp},      // another protocol
                  {"", 81, 8080, "10.0.0.1", Protocol::tcp},  // another address
                  {"", 82, 8080, "10.0.0.1", Protocol::tcp}};
  pod.spec.containers.push_back(second);
  EXPECT_EQ(validate_pod(pod),
            (Problems{"spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//8080\"",
                      "spec.containers[1].ports[3].hostPort: Duplicate value: \"TCP/10.0.0.1/8080\""}));
  // Init containers run one at a time: each is checked alone.
  pod = valid_pod();
  Container init = pod.spec.containers[0];
  init.name = "init";
  pod.spec.init_containers = {init, init};
  pod.spec.init_containers[1].name = "init2";
  pod.spec.init_containers[1].ports.push_back(pod.spec.init_containers[1].ports[0]);
  pod.spec.init_containers[1].ports[1].name = "";
  EXPECT_EQ(validate_pod(pod), Problems{"spec.initContainers[1].ports[1].hostPort: Duplicate value: \"TCP//8080\""});
}

TEST(PodValidate, HostNetworkPublishesPortsWhereTheyListen) {
  Pod pod = valid_pod();
  pod.spec.host_network = true;
  EXPECT_EQ(validate_pod(pod), Problems{"spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match "
                                        "`containerPort` when `hostNetwork` is true"});
  pod.spec.containers[0].ports[0].host_port = 0;
  apply_pod_defaults(pod);
  EXPECT_EQ(pod.spec.containers[0].ports[0].host_port, 80);
  EXPECT_EQ(validate_pod(pod), Problems{});
}

TEST(PodValidate, EnvironmentVariables) {
  Pod pod = valid_pod();
  pod.spec.containers[0].env = {{"", "x", std::nullopt},
                                {"1ST", "x", std::nullopt},
                                {"POD", "fixed", FieldRef::pod_name},
                                {"NODE", "", FieldRef::node_name}};
  EXPECT_EQ(validate_pod(pod),
            (Problems{
                "spec.containers[0].env[0].name: Required value",
                "spec.containers[0].env[1].name: Invalid value: \"1ST\": a valid environment variable name must "
                "consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. "
                "'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is "
                "'[-._a-zA-Z][-._a-zA-Z0-9]*')",
                "spec.containers[0].env[2].valueFrom: Invalid value: \"\": may not be specified when `value` is not "
                "empty",
            }));
}

TEST(PodValidate, VolumeMountsNameAVolume) {
  Pod pod = valid_pod();
  pod.spec.containers[0].volume_mounts = {
      {"data", "/data", false, ""},     {"cache", "/cache", false, ""},  {"", "", false, ""},
      {"data", "/data", true, ""},      {"data", "data", false, ""},     {"data", "/a", false, "../etc"},
      {"data", "/b", false, "/etc"},
  };
  EXPECT_EQ(validate_pod(pod),
            (Problems{
                "spec.containers[0].volumeMounts[1].name: Not found: \"cache\"",
                "spec.containers[0].volumeMounts[2].name: Required value",
                "spec.containers[0].volumeMounts[2].name: Not found: \"\"",
                "spec.containers[0].volumeMounts[2].mountPath: Required value",
                "spec.containers[0].volumeMounts[3].mountPath: Invalid value: \"/data\": must be unique",
                "spec.containers[0].volumeMounts[4].mountPath: Invalid value: \"data\": must be an absolute path",
                "spec.containers[0].volumeMounts[5].subPath: Invalid value: \"../etc\": must not contain '..'",
                "spec.containers[0].volumeMounts[6].subPath: Invalid value: \"/etc\": must be a relative path",
            }));
}

TEST(PodValidate, Volumes) {
  Pod pod = valid_pod();
  pod.spec.containers[0].volume_mounts.clear();
  pod.spec.volumes = {
      {"data", EmptyDirVolume{}, std::nullopt},
      {"data", EmptyDirVolume{}, std::nullopt},
      {"Logs", EmptyDirVolume{false, -1}, std::nullopt},
      {"", std::nullopt, HostPathVolume{"", HostPathType::unset}},
      {"both", EmptyDirVolume{}, HostPathVolume{"/x", HostPathType::unset}},
      {"none", std::nullopt, std::nullopt},
      {"up", std::nullopt, HostPathVolume{"/srv/../etc", HostPathType::directory}},
      {"rel", std::nullopt, HostPathVolume{"srv", HostPathType::directory}},
  };
  EXPECT_EQ(validate_pod(pod),
            (Problems{
                "spec.volumes[1].name: Duplicate value: \"data\"",
                "spec.volumes[2].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity",
                "spec.volumes[2].name: Invalid value: \"Logs\": " + kLabelRegex,
                "spec.volumes[3].hostPath.path: Required value",
                "spec.volumes[3].name: Required value",
                "spec.volumes[4].hostPath: Forbidden: may not specify more than 1 volume type",
                "spec.volumes[5]: Required value: must specify a volume type",
                "spec.volumes[6].hostPath.path: Invalid value: \"/srv/../etc\": must not contain '..'",
                "spec.volumes[7].hostPath.path: Invalid value: \"srv\": must be an absolute path",
            }));
  // A volume with a problem is not there for mounts to use.
  pod.spec.containers[0].volume_mounts = {{"Logs", "/logs", false, ""}};
  const Problems problems = validate_pod(pod);
  EXPECT_NE(std::find(problems.begin(), problems.end(), "spec.containers[0].volumeMounts[0].name: Not found: \"Logs\""),
            problems.end());
}

TEST(PodValidate, RequestsMayNotExceedLimitsNorBeNegative) {
  Pod pod = valid_pod();
  pod.spec.containers[0].resources = {{2000, 256 << 20}, {1000, 128 << 20}};
  EXPECT_EQ(validate_pod(pod),
            (Problems{"spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu "
                      "limit of 1",
                      "spec.containers[0].resources.requests: Invalid value: \"256Mi\": must be less than or equal to "
                      "memory limit of 128Mi"}));
  pod.spec.containers[0].resources = {{-100, std::nullopt}, {std::nullopt, -1}};
  EXPECT_EQ(validate_pod(pod),
            (Problems{"spec.containers[0].resources.limits[memory]: Invalid value: \"-1\": must be greater than or "
                      "equal to 0",
                      "spec.containers[0].resources.requests[cpu]: Invalid value: \"-100m\": must be greater than or "
                      "equal to 0"}));
  pod.spec.containers[0].resources = {{1500, std::nullopt}, {1500, std::nullopt}};
  EXPECT_EQ(validate_pod(pod), Problems{});
}

TEST(PodValidate, SecurityContexts) {
  Pod pod = valid_pod();
  SecurityContext context;
  context.run_as_user = -1;
  context.run_as_group = 2147483648;
  context.seccomp_profile = SeccompProfile{SeccompType::localhost, ""};
  context.capabilities = Capabilities{{"NET_ADMIN", "CAP_SYS_TIME", "net_raw", "FLY"}, {"ALL"}};
  pod.spec.containers[0].security_context = context;
  PodSecurityContext pod_context;
  pod_context.run_as_user = 2147483648;
  pod_context.run_as_group = -5;
  pod_context.fs_group = -1;
  pod_context.supplemental_groups = {10, -2};
  pod_context.seccomp_profile = SeccompProfile{SeccompType::runtime_default, "x.json"};
  pod.spec.security_context = pod_context;
  EXPECT_EQ(validate_pod(pod),
            (Problems{
                "spec.containers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, "
                "inclusive",
                "spec.containers[0].securityContext.runAsGroup: Invalid value: 2147483648: must be between 0 and "
                "2147483647, inclusive",
                "spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: must be set when "
                "seccomp type is Localhost",
                "spec.containers[0].securityContext.capabilities.add[1]: Invalid value: \"CAP_SYS_TIME\": must be "
                "written as \"SYS_TIME\"",
                "spec.containers[0].securityContext.capabilities.add[2]: Invalid value: \"net_raw\": must be written "
                "as \"NET_RAW\"",
                "spec.containers[0].securityContext.capabilities.add[3]: Invalid value: \"FLY\": not a Linux "
                "capability (such as \"NET_ADMIN\") nor \"ALL\"",
                "spec.securityContext.fsGroup: Invalid value: -1: must be between 0 and 2147483647, inclusive",
                "spec.securityContext.runAsUser: Invalid value: 2147483648: must be between 0 and 2147483647, "
                "inclusive",
                "spec.securityContext.runAsGroup: Invalid value: -5: must be between 0 and 2147483647, inclusive",
                "spec.securityContext.supplementalGroups[1]: Invalid value: -2: must be between 0 and 2147483647, "
                "inclusive",
                "spec.securityContext.seccompProfile.localhostProfile: Invalid value: \"x.json\": can only be set when "
                "seccomp type is Localhost",
            }));

  pod = valid_pod();
  context = SecurityContext{};
  context.allow_privilege_escalation = false;
  context.privileged = true;
  context.capabilities = Capabilities{{"SYS_ADMIN"}, {}};
  context.seccomp_profile = SeccompProfile{SeccompType::localhost, "../escape.json"};
  pod.spec.containers[0].security_context = context;
  EXPECT_EQ(validate_pod(pod),
            (Problems{
                "spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "
                "\"../escape.json\": must not contain '..'",
                "spec.containers[0].securityContext: Invalid value: {\"allowPrivilegeEscalation\":false,"
                "\"privileged\":true}: cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                "spec.containers[0].securityContext: Invalid value: {\"allowPrivilegeEscalation\":false,"
                "\"capabilities\":{\"add\":[\"SYS_ADMIN\"]}}: cannot set `allowPrivilegeEscalation` to false and "
                "`capabilities.Add` CAP_SYS_ADMIN",
            }));
}

TEST(PodValidate, NodeNameAndHostname) {
  Pod pod = valid_pod();
  pod.spec.node_name = "Node_1";
  pod.spec.hostname = "web.local";
  EXPECT_EQ(validate_pod(pod), (Problems{"spec.nodeName: Invalid value: \"Node_1\": " + kSubdomainRegex,
                                         "spec.hostname: Invalid value: \"web.local\": must not contain dots"}));
  pod.spec.node_name = "node-1.example.com";
  pod.spec.hostname = "web-0";
  EXPECT_EQ(validate_pod(pod), Problems{});
}

TEST(PodValidate, ValuesAreQuotedAsGoQuotesThem) {
  Pod pod = valid_pod();
  pod.spec.containers[0].volume_mounts[0].name = "a\"b\\c\nd\x01";
  EXPECT_EQ(validate_pod(pod).at(0), "spec.containers[0].volumeMounts[0].name: Not found: \"a\\\"b\\\\c\\nd\\x01\"");
}

TEST(PodValidate, KubectlStyleMessage) {
  Pod pod = valid_pod();
  pod.spec.containers[0].image = "";
  EXPECT_EQ(invalid_pod_message(pod, validate_pod(pod)),
            "Pod \"web\" is invalid: spec.containers[0].image: Required value");
  pod.spec.containers.push_back(pod.spec.containers[0]);
  pod.spec.containers[1].ports.clear();
  EXPECT_EQ(invalid_pod_message(pod, validate_pod(pod)),
            "Pod \"web\" is invalid: [spec.containers[0].image: Required value, spec.containers[1].image: Required "
            "value, spec.containers[1].name: Duplicate value: \"app\"]");
  // The same message twice is printed once, as Kubernetes' aggregate does.
  EXPECT_EQ(invalid_pod_message(pod, {"a: Required value", "a: Required value"}),
            "Pod \"web\" is invalid: a: Required value");
}

}  // namespace
}  // namespace deckhand::pods
