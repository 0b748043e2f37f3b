// `deckhand describe pod`: kubectl describe's layout, exactly, for a pod
// with labels, annotations, a restarted container, resources, env, mounts,
// conditions, volumes and events (a repeated one: "2m (x3 over 5m)"), and
// the alignment quirks Go's tabwriter gives it (a Command block breaks the
// container's column, QoS Class aligns with the last volume's fields).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/pod_describe.hpp"

namespace deckhand::cli {
namespace {

using nlohmann::json;

const pods::Time kNow = pods::parse_time("2026-07-24T12:00:00Z");

json described_pod() {
  return json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "uid": "u1",
                 "labels": {"tier": "front", "app": "web"}, "annotations": {"note": "hello"},
                 "creationTimestamp": "2026-07-24T11:55:00Z"},
    "spec": {
      "nodeName": "node-1", "restartPolicy": "Always",
      "containers": [{
        "name": "web", "image": "nginx:1.27", "command": ["nginx"], "args": ["-g", "daemon off;"],
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "resources": {"limits": {"memory": "128Mi", "cpu": "500m"}, "requests": {"cpu": "250m", "memory": "128Mi"}},
        "env": [{"name": "MODE", "value": "prod"},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "cache", "mountPath": "/cache", "readOnly": true}]
      }],
      "volumes": [{"name": "data", "emptyDir": {}},
                  {"name": "cache", "hostPath": {"path": "/var/cache/web", "type": "DirectoryOrCreate"}}]
    },
    "status": {
      "phase": "Running", "hostIP": "192.168.1.10", "podIP": "10.88.0.7", "podIPs": [{"ip": "10.88.0.7"}],
      "startTime": "2026-07-24T11:55:00Z", "qosClass": "Burstable",
      "conditions": [
        {"type": "PodReadyToStartContainers", "status": "True"}, {"type": "Initialized", "status": "True"},
        {"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"},
        {"type": "PodScheduled", "status": "True"}],
      "containerStatuses": [{
        "name": "web", "containerID": "deckhand://abc", "image": "nginx:1.27", "imageID": "sha256:def",
        "ready": true, "restartCount": 1, "started": true,
        "state": {"running": {"startedAt": "2026-07-24T11:58:00Z"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "Error",
                                     "startedAt": "2026-07-24T11:55:05Z", "finishedAt": "2026-07-24T11:57:59Z"}}
      }]
    }
  })");
}

json event(const std::string& type, const std::string& reason, int count, const std::string& first,
           const std::string& last, const std::string& message, const std::string& uid = "u1") {
  return {{"type", type}, {"reason", reason}, {"count", count}, {"firstTimestamp", first}, {"lastTimestamp", last},
          {"message", message}, {"source", {{"component", "kubelet"}}},
          {"involvedObject", {{"kind", "Pod"}, {"name", "web"}, {"uid", uid}}}};
}

// Out of order on purpose: describe sorts by lastTimestamp.
json described_events() {
  return {{"kind", "EventList"},
          {"items",
           {event("Normal", "Started", 2, "2026-07-24T11:55:02Z", "2026-07-24T11:58:01Z", "Started container web"),
            event("Normal", "Pulled", 1, "2026-07-24T11:55:00Z", "2026-07-24T11:55:00Z",
                  "Container image \"nginx:1.27\" already present on machine\n"),
            event("Warning", "BackOff", 3, "2026-07-24T11:55:00Z", "2026-07-24T11:58:00Z",
                  "Back-off restarting failed container web in pod web_default(u1)")}}};
}

TEST(CliPodDescribe, LayoutIsKubectls) {
  EXPECT_EQ(describe_pod(described_pod(), described_events(), kNow, TimeZone::utc),
            "Name:         web\n"
            "Namespace:    default\n"
            "Node:         node-1/192.168.1.10\n"
            "Start Time:   Fri, 24 Jul 2026 11:55:00 +0000\n"
            "Labels:       app=web\n"
            "              tier=front\n"
            "Annotations:  note: hello\n"
            "Status:       Running\n"
            "IP:           10.88.0.7\n"
            "IPs:\n"
            "  IP:  10.88.0.7\n"
            "Containers:\n"
            "  web:\n"
            "    Container ID:  deckhand://abc\n"
            "    Image:         nginx:1.27\n"
            "    Image ID:      sha256:def\n"
            "    Port:          80/TCP\n"
            "    Host Port:     0/TCP\n"
            "    Command:\n"
            "      nginx\n"
            "    Args:\n"
            "      -g\n"
            "      daemon off;\n"
            "    State:          Running\n"
            "      Started:      Fri, 24 Jul 2026 11:58:00 +0000\n"
            "    Last State:     Terminated\n"
            "      Reason:       Error\n"
            "      Exit Code:    137\n"
            "      Started:      Fri, 24 Jul 2026 11:55:05 +0000\n"
            "      Finished:     Fri, 24 Jul 2026 11:57:59 +0000\n"
            "    Ready:          True\n"
            "    Restart Count:  1\n"
            "    Limits:\n"
            "      cpu:     500m\n"
            "      memory:  128Mi\n"
            "    Requests:\n"
            "      cpu:     250m\n"
            "      memory:  128Mi\n"
            "    Environment:\n"
            "      MODE:    prod\n"
            "      POD_IP:  10.88.0.7 (v1:status.podIP)\n"
            "    Mounts:\n"
            "      /cache from cache (ro)\n"
            "      /data from data (rw)\n"
            "Conditions:\n"
            "  Type                        Status\n"
            "  PodReadyToStartContainers   True \n"
            "  Initialized                 True \n"
            "  Ready                       True \n"
            "  ContainersReady             True \n"
            "  PodScheduled                True \n"
            "Volumes:\n"
            "  data:\n"
            "    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)\n"
            "    Medium:     \n"
            "    SizeLimit:  <unset>\n"
            "  cache:\n"
            "    Type:          HostPath (bare host directory volume)\n"
            "    Path:          /var/cache/web\n"
            "    HostPathType:  DirectoryOrCreate\n"
            "QoS Class:         Burstable\n"
            "Node-Selectors:    <none>\n"
            "Tolerations:       <none>\n"
            "Events:\n"
            "  Type     Reason   Age                   From     Message\n"
            "  ----     ------   ----                  ----     -------\n"
            "  Normal   Pulled   5m                    kubelet  Container image \"nginx:1.27\" already present on machine\n"
            "  Warning  BackOff  2m (x3 over 5m)       kubelet  Back-off restarting failed container web in pod web_default(u1)\n"
            "  Normal   Started  119s (x2 over 4m58s)  kubelet  Started container web\n"
  );
}

TEST(CliPodDescribe, NoEventsAndUnreadableEvents) {
  // "Events:  <none>" has a tab, so it joins the block of the lines above it.
  const std::string with_none = describe_pod(described_pod(), json{{"items", json::array()}}, kNow, TimeZone::utc);
  EXPECT_TRUE(with_none.ends_with("QoS Class:         Burstable\n"
                                  "Node-Selectors:    <none>\n"
                                  "Tolerations:       <none>\n"
                                  "Events:            <none>\n"))
      << with_none;
  // Events that could not be read: no Events section at all.
  const std::string without = describe_pod(described_pod(), std::nullopt, kNow, TimeZone::utc);
  EXPECT_TRUE(without.ends_with("Tolerations:       <none>\n")) << without;
}

TEST(CliPodDescribe, WaitingTerminatingAndPendingPod) {
  json pod = described_pod();
  pod["metadata"]["deletionTimestamp"] = "2026-07-24T11:59:30Z";
  pod["metadata"]["deletionGracePeriodSeconds"] = 30;
  pod["status"]["containerStatuses"][0]["state"] = {{"waiting", {{"reason", "CrashLoopBackOff"}}}};
  pod["status"]["containerStatuses"][0].erase("lastState");
  pod["spec"]["containers"][0].erase("command");
  pod["spec"]["containers"][0].erase("args");
  pod["spec"]["containers"][0]["ports"].push_back({{"containerPort", 53}, {"protocol", "UDP"}, {"hostPort", 53}});
  const std::string text = describe_pod(pod, std::nullopt, kNow, TimeZone::utc);
  EXPECT_NE(text.find("Status:                    Terminating (lasts 30s)\n"
                      "Termination Grace Period:  30s\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    Ports:          80/TCP, 53/UDP\n"
                      "    Host Ports:     0/TCP, 53/UDP\n"
                      "    State:          Waiting\n"
                      "      Reason:       CrashLoopBackOff\n"
                      "    Ready:          True\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("Last State"), std::string::npos);
}

TEST(CliPodDescribe, PodWithoutStatusOrVolumes) {
  const json pod = json::parse(R"({"metadata": {"name": "new", "namespace": "ns1"},
                                   "spec": {"containers": [{"name": "app", "image": "busybox"}]}})");
  EXPECT_EQ(describe_pod(pod, std::nullopt, kNow, TimeZone::utc),
            "Name:         new\n"
            "Namespace:    ns1\n"
            "Node:         <none>\n"
            "Labels:       <none>\n"
            "Annotations:  <none>\n"
            "Status:       \n"
            "IP:           \n"
            "IPs:          <none>\n"
            "Containers:\n"
            "  app:\n"
            "    Image:        busybox\n"
            "    Port:         <none>\n"
            "    Host Port:    <none>\n"
            "    Environment:  <none>\n"
            "    Mounts:       <none>\n"
            "Volumes:          <none>\n"
            "QoS Class:        BestEffort\n"
            "Node-Selectors:   <none>\n"
            "Tolerations:      <none>\n");
}

}  // namespace
}  // namespace deckhand::cli
