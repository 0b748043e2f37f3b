// Pod manifests to the pod model: every supported field read, YAML and JSON,
// several documents and Lists, Kubernetes' defaults, the strict refusal of
// every other field (by path), wrong types, enumerations in Kubernetes' words,
// bounds on hostile input, and pod_to_json reading back to the same pod.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pods/pod_parse.hpp"

namespace deckhand::pods {
namespace {

using nlohmann::json;

// What parse_manifest says about `text`, "" when it parses.
std::string error_of(const std::string& text, const std::string& source = "web.yaml") {
  try {
    parse_manifest(text, source);
  } catch (const ManifestError& e) {
    return e.what();
  }
  return "";
}

// A minimal valid pod with `extra` YAML appended under its first container.
std::string with_container_yaml(const std::string& extra) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: app\n    image: nginx\n" +
         extra;
}

// The error for the minimal pod JSON after `edit` changed it.
std::string error_of_json(const std::function<void(json&)>& edit) {
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "web"}}},
              {"spec", {{"containers", {{{"name", "app"}, {"image", "nginx"}}}}}}};
  edit(pod);
  try {
    parse_pod(pod);
  } catch (const ManifestError& e) {
    return e.what();
  }
  return "";
}

const char* const kFullManifest = R"(# A web server with a sidecar, as a person writes one.
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  uid: 9f1c5a2e-0000-4000-8000-000000000001
  labels:
    app: web
    tier: frontend
  annotations:
    example.com/owner: team-a
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 10
  hostname: web-0
  nodeName: node-1
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    runAsNonRoot: true
    fsGroup: 2000
    supplementalGroups: [4000, 5000]
    seccompProfile:
      type: RuntimeDefault
  initContainers:
  - name: migrate
    image: registry.example.com/shop/migrate:1.2
    command: ["/bin/migrate"]
    args: ["--once"]
  containers:
  - name: app
    image: nginx:1.27
    imagePullPolicy: IfNotPresent
    command: [nginx]
    args: ["-g", "daemon off;"]
    workingDir: /srv
    env:
    - name: MODE
      value: production
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: POD_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.podIP
    ports:
    - name: http
      containerPort: 80
      hostPort: 8080
      hostIP: 127.0.0.1
      protocol: TCP
    - containerPort: 53
      protocol: UDP
    resources:
      requests:
        cpu: 250m
        memory: 64Mi
      limits:
        cpu: "1"
        memory: 128Mi
    volumeMounts:
    - name: cache
      mountPath: /var/cache/nginx
    - name: config
      mountPath: /etc/nginx/nginx.conf
      subPath: nginx.conf
      readOnly: true
    securityContext:
      runAsUser: 101
      runAsGroup: 101
      runAsNonRoot: true
      readOnlyRootFilesystem: true
      privileged: false
      allowPrivilegeEscalation: false
      capabilities:
        add: [NET_BIND_SERVICE]
        drop: [ALL]
      seccompProfile:
        type: Localhost
        localhostProfile: profiles/nginx.json
  - name: logs
    image: busybox
    args: [tail, -F, /var/log/app.log]
  volumes:
  - name: cache
    emptyDir:
      medium: Memory
      sizeLimit: 256Mi
  - name: config
    hostPath:
      path: /etc/shop
      type: Directory
  - name: scratch
    emptyDir: {}
)";

TEST(PodParse, ReadsEveryFieldOfARealisticManifest) {
  const std::vector<Pod> pods = parse_manifest(kFullManifest, "web.yaml");
  ASSERT_EQ(pods.size(), 1u);
  const Pod& pod = pods[0];
  EXPECT_EQ(pod.metadata.name, "web");
  EXPECT_EQ(pod.metadata.namespace_, "shop");
  EXPECT_EQ(pod.metadata.uid, "9f1c5a2e-0000-4000-8000-000000000001");
  EXPECT_EQ(pod.metadata.labels, (std::map<std::string, std::string>{{"app", "web"}, {"tier", "frontend"}}));
  EXPECT_EQ(pod.metadata.annotations, (std::map<std::string, std::string>{{"example.com/owner", "team-a"}}));

  const PodSpec& spec = pod.spec;
  EXPECT_EQ(spec.restart_policy, RestartPolicy::on_failure);
  EXPECT_EQ(spec.termination_grace_period_seconds, 10);
  EXPECT_FALSE(spec.host_network);
  EXPECT_EQ(spec.hostname, "web-0");
  EXPECT_EQ(spec.node_name, "node-1");
  ASSERT_TRUE(spec.security_context);
  EXPECT_EQ(spec.security_context->run_as_user, 1000);
  EXPECT_EQ(spec.security_context->run_as_group, 3000);
  EXPECT_EQ(spec.security_context->run_as_non_root, true);
  EXPECT_EQ(spec.security_context->fs_group, 2000);
  EXPECT_EQ(spec.security_context->supplemental_groups, (std::vector<int64_t>{4000, 5000}));
  ASSERT_TRUE(spec.security_context->seccomp_profile);
  EXPECT_EQ(spec.security_context->seccomp_profile->type, SeccompType::runtime_default);

  ASSERT_EQ(spec.init_containers.size(), 1u);
  EXPECT_EQ(spec.init_containers[0].name, "migrate");
  EXPECT_EQ(spec.init_containers[0].command, std::vector<std::string>{"/bin/migrate"});
  EXPECT_EQ(spec.init_containers[0].args, std::vector<std::string>{"--once"});
  // Defaulted: a tag other than latest pulls if not present.
  EXPECT_EQ(spec.init_containers[0].image_pull_policy, PullPolicy::if_not_present);

  ASSERT_EQ(spec.containers.size(), 2u);
  const Container& app = spec.containers[0];
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.image, "nginx:1.27");
  EXPECT_EQ(app.image_pull_policy, PullPolicy::if_not_present);
  EXPECT_EQ(app.command, std::vector<std::string>{"nginx"});
  EXPECT_EQ(app.args, (std::vector<std::string>{"-g", "daemon off;"}));
  EXPECT_EQ(app.working_dir, "/srv");
  ASSERT_EQ(app.env.size(), 3u);
  EXPECT_EQ(app.env[0].name, "MODE");
  EXPECT_EQ(app.env[0].value, "production");
  EXPECT_FALSE(app.env[0].field_ref);
  EXPECT_EQ(app.env[1].field_ref, FieldRef::pod_name);
  EXPECT_EQ(app.env[2].field_ref, FieldRef::pod_ip);
  ASSERT_EQ(app.ports.size(), 2u);
  EXPECT_EQ(app.ports[0].name, "http");
  EXPECT_EQ(app.ports[0].container_port, 80);
  EXPECT_EQ(app.ports[0].host_port, 8080);
  EXPECT_EQ(app.ports[0].host_ip, "127.0.0.1");
  EXPECT_EQ(app.ports[0].protocol, Protocol::tcp);
  EXPECT_EQ(app.ports[1].container_port, 53);
  EXPECT_EQ(app.ports[1].host_port, 0);
  EXPECT_EQ(app.ports[1].protocol, Protocol::udp);
  EXPECT_EQ(app.resources.requests.cpu_millis, 250);
  EXPECT_EQ(app.resources.requests.memory_bytes, 64 << 20);
  EXPECT_EQ(app.resources.limits.cpu_millis, 1000);
  EXPECT_EQ(app.resources.limits.memory_bytes, 128 << 20);
  ASSERT_EQ(app.volume_mounts.size(), 2u);
  EXPECT_EQ(app.volume_mounts[0], (VolumeMount{"cache", "/var/cache/nginx", false, ""}));
  EXPECT_EQ(app.volume_mounts[1], (VolumeMount{"config", "/etc/nginx/nginx.conf", true, "nginx.conf"}));
  ASSERT_TRUE(app.security_context);
  const SecurityContext& context = *app.security_context;
  EXPECT_EQ(context.run_as_user, 101);
  EXPECT_EQ(context.run_as_group, 101);
  EXPECT_EQ(context.run_as_non_root, true);
  EXPECT_EQ(context.read_only_root_filesystem, true);
  EXPECT_EQ(context.privileged, false);
  EXPECT_EQ(context.allow_privilege_escalation, false);
  ASSERT_TRUE(context.capabilities);
  EXPECT_EQ(context.capabilities->add, std::vector<std::string>{"NET_BIND_SERVICE"});
  EXPECT_EQ(context.capabilities->drop, std::vector<std::string>{"ALL"});
  ASSERT_TRUE(context.seccomp_profile);
  EXPECT_EQ(context.seccomp_profile->type, SeccompType::localhost);
  EXPECT_EQ(context.seccomp_profile->localhost_profile, "profiles/nginx.json");

  const Container& logs = spec.containers[1];
  EXPECT_EQ(logs.image_pull_policy, PullPolicy::always);  // no tag: latest
  EXPECT_FALSE(logs.security_context);
  EXPECT_EQ(logs.resources, ResourceRequirements{});

  ASSERT_EQ(spec.volumes.size(), 3u);
  ASSERT_TRUE(spec.volumes[0].empty_dir);
  EXPECT_TRUE(spec.volumes[0].empty_dir->memory);
  EXPECT_EQ(spec.volumes[0].empty_dir->size_limit_bytes, 256 << 20);
  EXPECT_FALSE(spec.volumes[0].host_path);
  ASSERT_TRUE(spec.volumes[1].host_path);
  EXPECT_EQ(spec.volumes[1].host_path->path, "/etc/shop");
  EXPECT_EQ(spec.volumes[1].host_path->type, HostPathType::directory);
  ASSERT_TRUE(spec.volumes[2].empty_dir);
  EXPECT_EQ(*spec.volumes[2].empty_dir, EmptyDirVolume{});
}

TEST(PodParse, ReadsEveryDocumentAndSkipsEmptyOnes) {
  const std::vector<Pod> pods = parse_manifest(R"(---
# nothing here
---
apiVersion: v1
kind: Pod
metadata: {name: one}
spec: {containers: [{name: a, image: busybox}]}
---
---
apiVersion: v1
kind: Pod
metadata: {name: two}
spec: {containers: [{name: a, image: busybox}]}
...
)",
                                               "two.yaml");
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0].metadata.name, "one");
  EXPECT_EQ(pods[1].metadata.name, "two");
  EXPECT_TRUE(parse_manifest("", "empty.yaml").empty());
  EXPECT_TRUE(parse_manifest("# just a comment\n", "comment.yaml").empty());
}

TEST(PodParse, ReadsAListOfPodsAsKubectlPrintsIt) {
  const std::vector<Pod> pods = parse_manifest(R"(apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: one}
  spec: {containers: [{name: a, image: busybox}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: two}
  spec: {containers: [{name: a, image: busybox}]}
)",
                                               "list.yaml");
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[1].metadata.name, "two");
  EXPECT_EQ(parse_manifest("apiVersion: v1\nkind: PodList\nitems: []\n", "l.yaml").size(), 0u);
  EXPECT_EQ(error_of("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, spec: {hostPID: true}}\n"),
            "web.yaml: document 1: items[0]: spec.hostPID: unknown or unsupported field");
  EXPECT_EQ(error_of("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: []}\n"),
            "web.yaml: document 1: items[0]: kind List is not supported here (only Pod; a List may not hold a List)");
  EXPECT_EQ(error_of("apiVersion: v2\nkind: List\nitems: []\n"),
            "web.yaml: document 1: apiVersion: Unsupported value: \"v2\": supported values: \"v1\"");
  EXPECT_EQ(error_of("apiVersion: v1\nkind: List\nitems: {}\n"), "web.yaml: document 1: items: must be an array");
}

TEST(PodParse, ReadsJson) {
  const std::vector<Pod> pods = parse_manifest(R"({
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "web", "labels": {"app": "web"}},
  "spec": {
    "containers": [{
      "name": "app",
      "image": "nginx:1.27",
      "ports": [{"containerPort": 80}],
      "resources": {"limits": {"cpu": 0.5, "memory": 134217728}}
    }]
  }
})",
                                               "web.json");
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0].metadata.labels.at("app"), "web");
  EXPECT_EQ(pods[0].spec.containers[0].ports[0].container_port, 80);
  EXPECT_EQ(pods[0].spec.containers[0].resources.limits.cpu_millis, 500);
  EXPECT_EQ(pods[0].spec.containers[0].resources.limits.memory_bytes, 134217728);
  EXPECT_EQ(error_of(R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "name": "b"}})", "p.json"),
            "p.json: document 1: duplicate key \"name\"");
}

TEST(PodParse, AppliesTheApiServersDefaults) {
  const std::vector<Pod> pods = parse_manifest(R"(apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  hostNetwork: true
  initContainers:
  - {name: init, image: "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
  containers:
  - name: a
    image: nginx
    ports: [{containerPort: 80}, {containerPort: 443, hostPort: 443, protocol: ""}]
    resources:
      limits: {cpu: 500m, memory: 1Gi}
  - {name: b, image: "nginx:latest"}
  - {name: c, image: "localhost:5000/app"}
  - {name: d, image: "localhost:5000/app:v2"}
  - {name: e, image: "nginx:1.27", imagePullPolicy: Never}
  - {name: f, image: "Nginx"}
)",
                                               "d.yaml");
  ASSERT_EQ(pods.size(), 1u);
  const Pod& pod = pods[0];
  EXPECT_EQ(pod.metadata.namespace_, "default");
  EXPECT_EQ(pod.spec.restart_policy, RestartPolicy::always);
  EXPECT_EQ(pod.spec.termination_grace_period_seconds, 30);
  EXPECT_EQ(pod.spec.init_containers[0].image_pull_policy, PullPolicy::if_not_present);  // a digest, no tag
  const std::vector<Container>& c = pod.spec.containers;
  EXPECT_EQ(c[0].image_pull_policy, PullPolicy::always);
  EXPECT_EQ(c[1].image_pull_policy, PullPolicy::always);
  EXPECT_EQ(c[2].image_pull_policy, PullPolicy::always);  // the port is the registry's, not a tag
  EXPECT_EQ(c[3].image_pull_policy, PullPolicy::if_not_present);
  EXPECT_EQ(c[4].image_pull_policy, PullPolicy::never);
  EXPECT_EQ(c[5].image_pull_policy, PullPolicy::if_not_present);  // not a reference Kubernetes can parse
  // hostNetwork publishes each port where it listens; "" is TCP.
  EXPECT_EQ(c[0].ports[0].host_port, 80);
  EXPECT_EQ(c[0].ports[1].host_port, 443);
  EXPECT_EQ(c[0].ports[1].protocol, Protocol::tcp);
  // A limit without a request requests the limit.
  EXPECT_EQ(c[0].resources.requests.cpu_millis, 500);
  EXPECT_EQ(c[0].resources.requests.memory_bytes, int64_t{1} << 30);
  EXPECT_FALSE(c[1].resources.requests.cpu_millis);
}

TEST(PodParse, ParsePodAloneAppliesNoDefaults) {
  const Pod pod = parse_pod(json::parse(R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
    "spec": {"containers": [{"name": "a", "image": "nginx", "resources": {"limits": {"cpu": "1"}}}]}})"));
  EXPECT_FALSE(pod.spec.termination_grace_period_seconds);
  EXPECT_FALSE(pod.spec.containers[0].image_pull_policy);
  EXPECT_FALSE(pod.spec.containers[0].resources.requests.cpu_millis);
  Pod defaulted = pod;
  apply_pod_defaults(defaulted);
  EXPECT_EQ(defaulted.spec.termination_grace_period_seconds, 30);
  EXPECT_EQ(defaulted.spec.containers[0].resources.requests.cpu_millis, 1000);
  Pod twice = defaulted;
  apply_pod_defaults(twice);
  EXPECT_EQ(twice, defaulted);
}

TEST(PodParse, RefusesEveryFieldItDoesNotSupportByPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"    livenessProbe: {exec: {command: [true]}}\n", "spec.containers[0].livenessProbe"},
      {"    readinessProbe: {}\n", "spec.containers[0].readinessProbe"},
      {"    envFrom: []\n", "spec.containers[0].envFrom"},
      {"    stdin: true\n", "spec.containers[0].stdin"},
      {"    tty: true\n", "spec.containers[0].tty"},
      {"    lifecycle: {}\n", "spec.containers[0].lifecycle"},
      {"    terminationMessagePath: /dev/log\n", "spec.containers[0].terminationMessagePath"},
      {"    volumeDevices: []\n", "spec.containers[0].volumeDevices"},
      {"    resizePolicy: []\n", "spec.containers[0].resizePolicy"},
      {"    restartPolicy: Always\n", "spec.containers[0].restartPolicy"},
      {"    ports: [{containerPort: 80, hostPorts: 80}]\n", "spec.containers[0].ports[0].hostPorts"},
      {"    env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n",
       "spec.containers[0].env[0].valueFrom.secretKeyRef"},
      {"    env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name, x: 1}}}]\n",
       "spec.containers[0].env[0].valueFrom.fieldRef.x"},
      {"    resources: {claims: []}\n", "spec.containers[0].resources.claims"},
      {"    volumeMounts: [{name: v, mountPath: /v, mountPropagation: None}]\n",
       "spec.containers[0].volumeMounts[0].mountPropagation"},
      {"    securityContext: {procMount: Default}\n", "spec.containers[0].securityContext.procMount"},
      {"    securityContext: {seLinuxOptions: {}}\n", "spec.containers[0].securityContext.seLinuxOptions"},
      {"    securityContext: {capabilities: {keep: []}}\n", "spec.containers[0].securityContext.capabilities.keep"},
      {"  serviceAccountName: default\n", "spec.serviceAccountName"},
      {"  dnsPolicy: ClusterFirst\n", "spec.dnsPolicy"},
      {"  hostPID: true\n", "spec.hostPID"},
      {"  tolerations: []\n", "spec.tolerations"},
      {"  nodeSelector: {}\n", "spec.nodeSelector"},
      {"  affinity: {}\n", "spec.affinity"},
      {"  ephemeralContainers: []\n", "spec.ephemeralContainers"},
      {"  securityContext: {sysctls: []}\n", "spec.securityContext.sysctls"},
      {"  volumes: [{name: v, configMap: {name: c}}]\n", "spec.volumes[0].configMap"},
      {"  volumes: [{name: v, persistentVolumeClaim: {claimName: c}}]\n", "spec.volumes[0].persistentVolumeClaim"},
      {"  volumes: [{name: v, emptyDir: {size: 1}}]\n", "spec.volumes[0].emptyDir.size"},
      {"  volumes: [{name: v, hostPath: {path: /x, readOnly: true}}]\n", "spec.volumes[0].hostPath.readOnly"},
  };
  for (const auto& [yaml, path] : cases) {
    EXPECT_EQ(error_of(with_container_yaml(yaml)), "web.yaml: document 1: " + path + ": unknown or unsupported field")
        << yaml;
  }
  EXPECT_EQ(error_of_json([](json& pod) { pod["metadata"]["ownerReferences"] = json::array(); }),
            "metadata.ownerReferences: unknown or unsupported field");
  EXPECT_EQ(error_of_json([](json& pod) { pod["metadata"]["finalizers"] = json::array(); }),
            "metadata.finalizers: unknown or unsupported field");
  EXPECT_EQ(error_of_json([](json& pod) { pod["extra"] = 1; }), "extra: unknown or unsupported field");
  EXPECT_EQ(error_of_json([](json& pod) { pod["metadata"]["generateName"] = "web-"; }),
            "metadata.generateName: unsupported field: deckhand does not generate names (set metadata.name)");
}

TEST(PodParse, AcceptsAndIgnoresWhatTheServerSets) {
  const std::vector<Pod> pods = parse_manifest(R"(apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  uid: 3d0a2b5c-1111-4000-8000-000000000002
  resourceVersion: "4711"
  creationTimestamp: "2024-05-01T10:00:00Z"
  generation: 1
  managedFields:
  - manager: kubectl
    operation: Update
    fieldsV1: {"f:spec": {"f:containers": {}}}
spec:
  containers: [{name: app, image: nginx}]
status:
  phase: Running
  podIP: 10.88.0.5
  conditions: [{type: Ready, status: "True"}]
)",
                                               "exported.yaml");
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0].metadata.uid, "3d0a2b5c-1111-4000-8000-000000000002");
}

TEST(PodParse, NamesTheTypeAFieldMustHave) {
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& p) { p["metadata"]["name"] = 5; }, "metadata.name: must be a string"},
      {[](json& p) { p["metadata"]["labels"] = {{"version", 1.0}}; }, "metadata.labels[version]: must be a string"},
      {[](json& p) { p["metadata"]["labels"] = json::array(); }, "metadata.labels: must be an object"},
      {[](json& p) { p["metadata"] = "web"; }, "metadata: must be an object"},
      {[](json& p) { p["spec"]["containers"] = json::object(); }, "spec.containers: must be an array"},
      {[](json& p) { p["spec"]["containers"][0] = "app"; }, "spec.containers[0]: must be an object"},
      {[](json& p) { p["spec"]["containers"][0]["command"] = "sh"; }, "spec.containers[0].command: must be an array"},
      {[](json& p) { p["spec"]["hostNetwork"] = "true"; }, "spec.hostNetwork: must be a boolean"},
      {[](json& p) { p["spec"]["terminationGracePeriodSeconds"] = 1.5; },
       "spec.terminationGracePeriodSeconds: must be an integer"},
      {[](json& p) { p["spec"]["terminationGracePeriodSeconds"] = 18446744073709551615u; },
       "spec.terminationGracePeriodSeconds: must be a 64-bit integer"},
      {[](json& p) { p["spec"]["containers"][0]["ports"] = {{{"containerPort", "80"}}}; },
       "spec.containers[0].ports[0].containerPort: must be an integer"},
      {[](json& p) { p["spec"]["containers"][0]["ports"] = {{{"containerPort", 80.0}}}; },
       "spec.containers[0].ports[0].containerPort: must be an integer"},
      {[](json& p) { p["spec"]["containers"][0]["ports"] = {{{"containerPort", 4294967376}}}; },
       "spec.containers[0].ports[0].containerPort: must be a 32-bit integer"},
      {[](json& p) { p["spec"]["containers"][0]["args"] = {"--port", 8080}; },
       "spec.containers[0].args[1]: must be a string"},
      {[](json& p) { p["spec"]["containers"][0]["env"] = {{{"name", "PORT"}, {"value", 8080}}}; },
       "spec.containers[0].env[0].value: must be a string"},
      {[](json& p) { p["spec"]["containers"][0]["resources"] = {{"limits", {{"cpu", true}}}}; },
       "spec.containers[0].resources.limits[cpu]: must be a quantity: a string such as \"250m\" or \"128Mi\", or a "
       "number"},
      {[](json& p) { p["spec"]["securityContext"] = {{"supplementalGroups", {"wheel"}}}; },
       "spec.securityContext.supplementalGroups[0]: must be an integer"},
      {[](json& p) { p["spec"]["volumes"] = {{{"name", "v"}, {"emptyDir", {{"sizeLimit", "lots"}}}}}; },
       "spec.volumes[0].emptyDir.sizeLimit: quantities must match the regular expression "
       "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"},
      {[](json& p) { p["kind"] = 1; }, "kind: must be a string"},
  };
  for (const auto& [edit, message] : cases) EXPECT_EQ(error_of_json(edit), message);
  // YAML's scalars keep their YAML 1.2 types: unquoted digits are a number.
  EXPECT_EQ(error_of(with_container_yaml("    env: [{name: PORT, value: 8080}]\n")),
            "web.yaml: document 1: spec.containers[0].env[0].value: must be a string");
  EXPECT_EQ(error_of(with_container_yaml("    securityContext: {privileged: yes}\n")),
            "web.yaml: document 1: spec.containers[0].securityContext.privileged: must be a boolean");
}

TEST(PodParse, NullReadsAsAbsent) {
  const std::vector<Pod> pods = parse_manifest(with_container_yaml("    env:\n    command: ~\n  volumes:\n"), "n.yaml");
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_TRUE(pods[0].spec.containers[0].env.empty());
  EXPECT_TRUE(pods[0].spec.volumes.empty());
}

TEST(PodParse, RefusesValuesOutsideEachEnumerationInKubernetesWords) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  restartPolicy: Sometimes\n",
       "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""},
      {"    imagePullPolicy: always\n",
       "spec.containers[0].imagePullPolicy: Unsupported value: \"always\": supported values: \"Always\", "
       "\"IfNotPresent\", \"Never\""},
      {"    ports: [{containerPort: 5000, protocol: SCTP}]\n",
       "spec.containers[0].ports[0].protocol: Unsupported value: \"SCTP\": supported values: \"TCP\", \"UDP\" "
       "(deckhand does not support SCTP)"},
      {"    ports: [{containerPort: 5000, protocol: tcp}]\n",
       "spec.containers[0].ports[0].protocol: Unsupported value: \"tcp\": supported values: \"TCP\", \"UDP\""},
      {"    securityContext: {seccompProfile: {type: Strict}}\n",
       "spec.containers[0].securityContext.seccompProfile.type: Unsupported value: \"Strict\": supported values: "
       "\"Localhost\", \"RuntimeDefault\", \"Unconfined\""},
      {"    securityContext: {seccompProfile: {localhostProfile: p.json}}\n",
       "spec.containers[0].securityContext.seccompProfile.type: Required value: type is required when "
       "seccompProfile is set"},
      {"  volumes: [{name: v, hostPath: {path: /x, type: Dir}}]\n",
       "spec.volumes[0].hostPath.type: Unsupported value: \"Dir\": supported values: \"\", \"BlockDevice\", "
       "\"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\""},
      {"  volumes: [{name: v, emptyDir: {medium: HugePages}}]\n",
       "spec.volumes[0].emptyDir.medium: Unsupported value: \"HugePages\": supported values: \"\", \"Memory\""},
      {"    env: [{name: A, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}]\n",
       "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"status.podIPs\": supported "
       "values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", "
       "\"spec.serviceAccountName\", \"status.hostIP\", \"status.podIP\""},
      {"    env: [{name: A, valueFrom: {fieldRef: {apiVersion: v1}}}]\n",
       "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Required value"},
      {"    env: [{name: A, valueFrom: {fieldRef: {apiVersion: v2, fieldPath: metadata.name}}}]\n",
       "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: \"metadata.name\": error converting "
       "fieldPath: unsupported pod version: v2"},
      {"    env: [{name: A, valueFrom: {}}]\n",
       "spec.containers[0].env[0].valueFrom: must specify `fieldRef` (the one source deckhand supports)"},
      {"    resources: {limits: {nvidia.com/gpu: 1}}\n",
       "spec.containers[0].resources.limits[nvidia.com/gpu]: Unsupported value: \"nvidia.com/gpu\": supported "
       "values: \"cpu\", \"memory\" (deckhand manages cpu and memory only)"},
      {"    resources: {requests: {ephemeral-storage: 1Gi}}\n",
       "spec.containers[0].resources.requests[ephemeral-storage]: Unsupported value: \"ephemeral-storage\": "
       "supported values: \"cpu\", \"memory\" (deckhand manages cpu and memory only)"},
  };
  for (const auto& [yaml, message] : cases) {
    EXPECT_EQ(error_of(with_container_yaml(yaml)), "web.yaml: document 1: " + message) << yaml;
  }
}

TEST(PodParse, TakesOnlyPodsOfApiVersionV1) {
  EXPECT_EQ(error_of("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"),
            "web.yaml: document 1: kind Deployment is not supported here (only Pod; deckhand runs pods without "
            "controllers: write its pod template as a Pod)");
  EXPECT_EQ(error_of("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"),
            "web.yaml: document 1: kind Service is not supported here (only Pod)");
  EXPECT_EQ(error_of("apiVersion: v1\nkind: \"Pod!\"\n"),
            "web.yaml: document 1: kind \"Pod!\" is not supported here (only Pod)");
  EXPECT_EQ(error_of("apiVersion: v1\nmetadata: {name: web}\n"),
            "web.yaml: document 1: kind: Required value: must be Pod");
  EXPECT_EQ(error_of("kind: Pod\nmetadata: {name: web}\n"),
            "web.yaml: document 1: apiVersion: Required value: must be v1");
  EXPECT_EQ(error_of("apiVersion: v2\nkind: Pod\n"),
            "web.yaml: document 1: apiVersion: Unsupported value: \"v2\": supported values: \"v1\"");
  EXPECT_EQ(error_of("- a\n- b\n"), "web.yaml: document 1: must be an object: a Pod, or a List of Pods");
  EXPECT_EQ(error_of("just words\n"), "web.yaml: document 1: must be an object: a Pod, or a List of Pods");
}

TEST(PodParse, ErrorsNameTheFileAndTheDocument) {
  const std::string good =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: b}]}\n";
  EXPECT_EQ(error_of(good + "---\n" + good + "---\napiVersion: v1\nkind: Pod\nspec: {nodeSelector: {}}\n",
                     "pods/web.yaml"),
            "pods/web.yaml: document 3: spec.nodeSelector: unknown or unsupported field");
}

TEST(PodParse, YamlSyntaxErrorsGiveTheLineAndColumn) {
  EXPECT_EQ(error_of("apiVersion: v1\nkind: Pod\nspec: [a, b\nmetadata: {}\n"),
            "web.yaml: line 4, column 9: end of sequence flow not found");
  EXPECT_EQ(error_of("apiVersion: v1\nkind: Pod\nkind: Pod\n"),
            "web.yaml: document 1: line 3, column 1: duplicate key \"kind\"");
  EXPECT_EQ(error_of("apiVersion: v1\n[a]: b\n"),
            "web.yaml: document 1: line 2, column 1: a mapping key must be a string");
}

TEST(PodParse, BoundsHostileInput) {
  EXPECT_EQ(error_of(std::string((4 << 20) + 1, '#')), "web.yaml: 4194305 bytes; a manifest may be at most 4 MiB");
  std::string documents;
  for (int i = 0; i < 1001; ++i) documents += "--- {a: 1}\n";
  EXPECT_EQ(error_of(documents), "web.yaml: more than 1000 documents; a manifest may hold at most 1000");
  // yaml-cpp 0.7 would loop forever, allocating, on a flow collection and a comma.
  EXPECT_EQ(error_of("[],"), "web.yaml: line 1, column 3: unexpected \",\"");
  EXPECT_EQ(error_of("a: 1\n---\n{a: 1}\n,\n"), "web.yaml: line 4, column 1: unexpected \",\"");
  // A billion laughs: ten levels of ten aliases.
  std::string laughs = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) laughs += std::string(j ? ", " : "") + "*a" + std::to_string(i - 1);
    laughs += "]\n";
  }
  EXPECT_EQ(error_of(laughs),
            "web.yaml: document 1: line 1, column 10: more than 65536 nodes once YAML aliases are expanded");
  // Shared anchors within the budget are fine.
  std::string shared = with_container_yaml("    env: &env [{name: A, value: a}, {name: B, value: b}]\n");
  for (int i = 0; i < 50; ++i) shared += "  - {name: c" + std::to_string(i) + ", image: nginx, env: *env}\n";
  EXPECT_EQ(parse_manifest(shared, "s.yaml").at(0).spec.containers.at(50).env.size(), 2u);
  // An alias inside its own anchor is an endless structure.
  EXPECT_EQ(error_of("a: &x [*x]\n"), "web.yaml: document 1: line 1, column 4: nested more than 64 levels deep");
  EXPECT_NE(error_of(std::string(100, '[') + std::string(100, ']')).find("nested more than 64 levels deep"),
            std::string::npos);
  EXPECT_NE(error_of("a: " + std::string(100, '[') + std::string(100, ']') + "\n").find("nested more than 64 levels"),
            std::string::npos);
  // yaml-cpp's own limit, 2000 levels, comes first.
  EXPECT_EQ(error_of("a: " + std::string(3000, '[') + std::string(3000, ']')),
            "web.yaml: line 1, column 6004: nested more than 64 levels deep");
  // A long number-like plain scalar would overflow std::regex's stack in yaml_to_json.
  EXPECT_EQ(error_of("a: " + std::string(100000, '1') + "\n"),
            "web.yaml: document 1: line 1, column 4: an unquoted number-like value longer than 1024 characters "
            "(quote it)");
  const std::string long_quoted = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    a: \"" +
                                  std::string(100000, '1') + "\"\nspec: {containers: [{name: a, image: b}]}\n";
  EXPECT_EQ(parse_manifest(long_quoted, "q.yaml")[0].metadata.annotations.at("a").size(), 100000u);
  std::string many_pods = "apiVersion: v1\nkind: List\nitems:\n";
  for (int i = 0; i < 1001; ++i) many_pods += "- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n";
  EXPECT_EQ(error_of(many_pods),
            "web.yaml: document 1: items[1000]: more than 1000 pods; a manifest may hold at most 1000");
}

TEST(PodParse, ReadsQuantitiesAsKubernetesDoes) {
  const auto limits_of = [](const std::string& cpu, const std::string& memory) {
    const std::vector<Pod> pods = parse_manifest(
        with_container_yaml("    resources: {limits: {cpu: " + cpu + ", memory: " + memory + "}}\n"), "q.yaml");
    return pods.at(0).spec.containers.at(0).resources.limits;
  };
  EXPECT_EQ(limits_of("250m", "128Mi").cpu_millis, 250);
  EXPECT_EQ(limits_of("250m", "128Mi").memory_bytes, 134217728);
  EXPECT_EQ(limits_of("0.5", "1G").cpu_millis, 500);
  EXPECT_EQ(limits_of("0.5", "1G").memory_bytes, 1000000000);
  EXPECT_EQ(limits_of("2", "1e3").cpu_millis, 2000);
  EXPECT_EQ(limits_of("2", "1e3").memory_bytes, 1000);
  EXPECT_EQ(limits_of("0.1", "0.5").cpu_millis, 100);
  EXPECT_EQ(limits_of("0.1", "0.5").memory_bytes, 1);  // rounded up, as Value() does
  EXPECT_EQ(limits_of("\"1.5\"", "\"1.5Gi\"").memory_bytes, 1610612736);
  EXPECT_EQ(error_of(with_container_yaml("    resources: {limits: {cpu: 1x}}\n")),
            "web.yaml: document 1: spec.containers[0].resources.limits[cpu]: quantities must match the regular "
            "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
}

TEST(PodParse, PodToJsonPrintsWhatTheApiServerWouldAndReadsBack) {
  const Pod pod = parse_manifest(kFullManifest, "web.yaml").at(0);
  const json printed = pod_to_json(pod);
  EXPECT_EQ(parse_pod(printed), pod);
  EXPECT_EQ(printed["apiVersion"], "v1");
  EXPECT_EQ(printed["kind"], "Pod");
  const json& app = printed["spec"]["containers"][0];
  EXPECT_EQ(app["resources"], json::parse(R"({"requests": {"cpu": "250m", "memory": "64Mi"},
                                              "limits": {"cpu": "1", "memory": "128Mi"}})"));
  EXPECT_EQ(app["env"][1], json::parse(R"({"name": "POD_NAME",
      "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}})"));
  EXPECT_EQ(app["ports"][1], json::parse(R"({"containerPort": 53, "protocol": "UDP"})"));
  EXPECT_EQ(app["imagePullPolicy"], "IfNotPresent");
  // Empty optional fields are left out, as the API server leaves them out.
  const json& logs = printed["spec"]["containers"][1];
  EXPECT_EQ(logs, json::parse(R"({"name": "logs", "image": "busybox", "imagePullPolicy": "Always",
                                  "args": ["tail", "-F", "/var/log/app.log"], "resources": {}})"));
  EXPECT_EQ(printed["spec"]["volumes"][1]["hostPath"], json::parse(R"({"path": "/etc/shop", "type": "Directory"})"));
  EXPECT_EQ(printed["spec"]["volumes"][0]["emptyDir"], json::parse(R"({"medium": "Memory", "sizeLimit": "256Mi"})"));
  EXPECT_EQ(printed["spec"]["volumes"][2]["emptyDir"], json::object());
  EXPECT_EQ(printed["spec"]["terminationGracePeriodSeconds"], 10);
  EXPECT_FALSE(printed["spec"].contains("hostNetwork"));

  // A bare pod, not defaulted, reads back as well.
  Pod bare;
  bare.spec.containers.push_back(Container{});
  bare.spec.containers[0].env.push_back(EnvVar{"EMPTY", "", std::nullopt});
  bare.spec.containers[0].security_context = SecurityContext{};
  bare.spec.containers[0].security_context->capabilities = Capabilities{};
  bare.spec.security_context = PodSecurityContext{};
  bare.spec.volumes.push_back(Volume{"h", std::nullopt, HostPathVolume{"/h", HostPathType::unset}});
  bare.spec.containers[0].resources.limits = ResourceList{-1500, -1024};
  EXPECT_EQ(parse_pod(pod_to_json(bare)), bare);
  EXPECT_EQ(pod_to_json(bare)["spec"]["containers"][0]["resources"]["limits"],
            json::parse(R"({"cpu": "-1500m", "memory": "-1Ki"})"));
}

TEST(PodParse, PrintsMemoryWithTheSuffixAPersonWouldWrite) {
  const auto memory_printed = [](const std::string& written) {
    const std::string yaml = with_container_yaml("    resources: {limits: {memory: " + written + "}}\n");
    const Pod pod = parse_manifest(yaml, "m.yaml").at(0);
    return pod_to_json(pod)["spec"]["containers"][0]["resources"]["limits"]["memory"].get<std::string>();
  };
  EXPECT_EQ(memory_printed("128Mi"), "128Mi");
  EXPECT_EQ(memory_printed("1Gi"), "1Gi");
  EXPECT_EQ(memory_printed("1536Mi"), "1536Mi");
  EXPECT_EQ(memory_printed("512M"), "512M");
  EXPECT_EQ(memory_printed("1G"), "1G");
  EXPECT_EQ(memory_printed("1000"), "1k");
  EXPECT_EQ(memory_printed("1000Ki"), "1000Ki");
  EXPECT_EQ(memory_printed("12345"), "12345");
  EXPECT_EQ(memory_printed("0"), "0");
}

}  // namespace
}  // namespace deckhand::pods
