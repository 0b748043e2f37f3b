// pod_to_json: the pod model back to Kubernetes JSON, as the API server
// returns a pod (before status): Kubernetes' field names, optional fields
// left out when unset or empty, enums spelled as Kubernetes spells them and
// quantities in canonical form (cpu "250m" or "2", memory "128Mi", "512M" or
// bytes; pod_strings.hpp). parse_pod reads the result back to an equal Pod.
#include "pods/pod_parse.hpp"
#include "pods/pod_strings.hpp"

namespace deckhand::pods {
namespace {

using nlohmann::json;

void put_if(json& object, const char* name, const std::string& value) {
  if (!value.empty()) object[name] = value;
}

template <typename T>
void put_if(json& object, const char* name, const std::optional<T>& value) {
  if (value) object[name] = *value;
}

template <typename T>
void put_if(json& object, const char* name, const std::vector<T>& values) {
  if (!values.empty()) object[name] = values;
}

json seccomp_json(const SeccompProfile& profile) {
  json out = {{"type", to_string(profile.type)}};
  put_if(out, "localhostProfile", profile.localhost_profile);
  return out;
}

json resource_list_json(const ResourceList& list) {
  json out = json::object();
  if (list.cpu_millis) out["cpu"] = cpu_quantity(*list.cpu_millis);
  if (list.memory_bytes) out["memory"] = memory_quantity(*list.memory_bytes);
  return out;
}

json security_context_json(const SecurityContext& context) {
  json out = json::object();
  put_if(out, "runAsUser", context.run_as_user);
  put_if(out, "runAsGroup", context.run_as_group);
  put_if(out, "runAsNonRoot", context.run_as_non_root);
  put_if(out, "readOnlyRootFilesystem", context.read_only_root_filesystem);
  put_if(out, "privileged", context.privileged);
  put_if(out, "allowPrivilegeEscalation", context.allow_privilege_escalation);
  if (context.capabilities) {
    json caps = json::object();
    put_if(caps, "add", context.capabilities->add);
    put_if(caps, "drop", context.capabilities->drop);
    out["capabilities"] = caps;
  }
  if (context.seccomp_profile) out["seccompProfile"] = seccomp_json(*context.seccomp_profile);
  return out;
}

json env_json(const EnvVar& env) {
  json out = {{"name", env.name}};
  put_if(out, "value", env.value);
  if (env.field_ref) {
    out["valueFrom"] = {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", to_string(*env.field_ref)}}}};
  }
  return out;
}

json port_json(const ContainerPort& port) {
  json out = {{"containerPort", port.container_port}, {"protocol", to_string(port.protocol)}};
  put_if(out, "name", port.name);
  if (port.host_port != 0) out["hostPort"] = port.host_port;
  put_if(out, "hostIP", port.host_ip);
  return out;
}

json container_json(const Container& container) {
  json out = {{"name", container.name}, {"image", container.image}};
  if (container.image_pull_policy) out["imagePullPolicy"] = to_string(*container.image_pull_policy);
  put_if(out, "command", container.command);
  put_if(out, "args", container.args);
  put_if(out, "workingDir", container.working_dir);
  for (const EnvVar& env : container.env) out["env"].push_back(env_json(env));
  for (const ContainerPort& port : container.ports) out["ports"].push_back(port_json(port));
  // The API server prints `resources: {}` for a container without any.
  json resources = json::object();
  if (const json requests = resource_list_json(container.resources.requests); !requests.empty()) {
    resources["requests"] = requests;
  }
  if (const json limits = resource_list_json(container.resources.limits); !limits.empty()) resources["limits"] = limits;
  out["resources"] = resources;
  for (const VolumeMount& mount : container.volume_mounts) {
    json mount_json = {{"name", mount.name}, {"mountPath", mount.mount_path}};
    if (mount.read_only) mount_json["readOnly"] = true;
    put_if(mount_json, "subPath", mount.sub_path);
    out["volumeMounts"].push_back(mount_json);
  }
  if (container.security_context) out["securityContext"] = security_context_json(*container.security_context);
  return out;
}

json volume_json(const Volume& volume) {
  json out = {{"name", volume.name}};
  if (volume.empty_dir) {
    json dir = json::object();
    if (volume.empty_dir->memory) dir["medium"] = "Memory";
    if (volume.empty_dir->size_limit_bytes) dir["sizeLimit"] = memory_quantity(*volume.empty_dir->size_limit_bytes);
    out["emptyDir"] = dir;
  }
  if (volume.host_path) {
    // The API server defaults an absent type to "" and prints it.
    out["hostPath"] = {{"path", volume.host_path->path}, {"type", to_string(volume.host_path->type)}};
  }
  return out;
}

json pod_security_context_json(const PodSecurityContext& context) {
  json out = json::object();
  put_if(out, "runAsUser", context.run_as_user);
  put_if(out, "runAsGroup", context.run_as_group);
  put_if(out, "runAsNonRoot", context.run_as_non_root);
  put_if(out, "fsGroup", context.fs_group);
  put_if(out, "supplementalGroups", context.supplemental_groups);
  if (context.seccomp_profile) out["seccompProfile"] = seccomp_json(*context.seccomp_profile);
  return out;
}

}  // namespace

json pod_to_json(const Pod& pod) {
  json metadata = {{"name", pod.metadata.name}, {"namespace", pod.metadata.namespace_}};
  put_if(metadata, "uid", pod.metadata.uid);
  if (!pod.metadata.labels.empty()) metadata["labels"] = pod.metadata.labels;
  if (!pod.metadata.annotations.empty()) metadata["annotations"] = pod.metadata.annotations;

  const PodSpec& spec = pod.spec;
  json out_spec = {{"containers", json::array()}, {"restartPolicy", to_string(spec.restart_policy)}};
  for (const Container& container : spec.containers) out_spec["containers"].push_back(container_json(container));
  for (const Container& container : spec.init_containers) {
    out_spec["initContainers"].push_back(container_json(container));
  }
  for (const Volume& volume : spec.volumes) out_spec["volumes"].push_back(volume_json(volume));
  put_if(out_spec, "terminationGracePeriodSeconds", spec.termination_grace_period_seconds);
  if (spec.host_network) out_spec["hostNetwork"] = true;
  put_if(out_spec, "hostname", spec.hostname);
  put_if(out_spec, "nodeName", spec.node_name);
  if (spec.security_context) out_spec["securityContext"] = pod_security_context_json(*spec.security_context);

  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", metadata}, {"spec", out_spec}};
}

}  // namespace deckhand::pods
