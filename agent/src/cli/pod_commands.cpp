// `deckhand apply|get|describe|delete|logs`: kubectl's pod commands, with
// its flags, output and exit codes, on the agent's local API (the core/v1
// pod routes, /v1/apply, events and logs; `get -w` and `logs -f` read the
// API's streams, api_stream). Rendering lives in pod_table, pod_describe
// and object_output; this file parses the command line, calls the agent and
// reports as kubectl does: results on stdout, "Error from
// server (Reason): message" for the agent's Status errors and "error: ..."
// for the user's, exit 1 when anything failed.
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/api_client.hpp"
#include "cli/api_stream.hpp"
#include "cli/commands.hpp"
#include "cli/json_access.hpp"
#include "cli/manifest_input.hpp"
#include "cli/object_output.hpp"
#include "cli/pod_describe.hpp"
#include "cli/pod_table.hpp"
#include "pods/pod_parse.hpp"
#include "util/url_encoding.hpp"

namespace deckhand::cli {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

const char* const kApplyUsage = R"(Create or update pods from manifests, as kubectl apply does.

Usage:
  deckhand apply -f FILE|DIR|- [-f ...]

FILE is a YAML or JSON manifest (several documents, Pods or a v1 List); DIR
applies its *.yaml, *.yml and *.json files in name order; - reads standard input.)";

const char* const kGetUsage = R"(List pods, as kubectl get pods does.

Usage:
  deckhand get pods|pod|po [NAME...] [-n NS | -A] [-o wide|yaml|json|name] [-l SELECTOR] [--no-headers]
  deckhand get pods|pod|po [NAME] -w|--watch|--watch-only [--output-watch-events] [...]

-w prints the pods, then a line (or an object) each time one changes, until
interrupted (exit 1, as kubectl) or the agent ends the watch (exit 0).)";

const char* const kDescribeUsage = R"(Show a pod's details and events, as kubectl describe does.

Usage:
  deckhand describe pod|pods [NAME...] [-n NS])";

const char* const kDeleteUsage = R"(Delete pods, as kubectl delete does.

Usage:
  deckhand delete pod|pods NAME... [-n NS]
  deckhand delete -f FILE|DIR|-)";

const char* const kLogsUsage = R"(Print a container's log, as kubectl logs does.

Usage:
  deckhand logs POD [CONTAINER] [-c CONTAINER] [-f|--follow] [--tail N] [-p|--previous] [--timestamps] [--since 5s|2m|3h] [-n NS]

-f goes on printing what the container writes until it exits (a restart ends
it with the old run's log).)";


// The StatusReason kubectl shows for an HTTP code (apimachinery errors.go).
std::string reason_for_code(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "InternalError";
  }
}

// kubectl's line for a Status error: "Error from server (NotFound): pods "x" not found".
int report_server_error(const ApiResponse& response) {
  const json status = json::parse(response.body, nullptr, false);
  if (text(status, "kind") != "Status" || text(status, "message").empty()) {
    return fail(ApiClient::error_message(response));
  }
  const std::string reason = text(status, "reason").empty() ? reason_for_code(response.status) : text(status, "reason");
  std::cerr << "Error from server (" << reason << "): " << text(status, "message") << "\n";
  return 1;
}

json parse_body(const ApiResponse& response) {
  json body = json::parse(response.body, nullptr, false);
  if (body.is_discarded()) throw std::runtime_error("the agent answered with invalid JSON: " + response.body.substr(0, 200));
  return body;
}

std::string pods_path(const std::string& ns) { return "/api/v1/namespaces/" + url_encode(ns) + "/pods"; }
std::string pod_path(const std::string& ns, const std::string& name) { return pods_path(ns) + "/" + url_encode(name); }

// The names of `pod NAME...`, `pods`, or `pod/NAME ...` words.
std::vector<std::string> pod_names(const std::vector<std::string>& words, const std::string& verb) {
  if (words.empty()) throw std::runtime_error("you must specify the type of resource to " + verb + ": pods");
  auto is_pod_type = [](const std::string& type) { return type == "pod" || type == "pods" || type == "po"; };
  if (words[0].find('/') == std::string::npos) {
    if (!is_pod_type(words[0])) throw std::runtime_error("the server doesn't have a resource type \"" + words[0] + "\"");
    return {words.begin() + 1, words.end()};
  }
  std::vector<std::string> names;
  for (const std::string& word : words) {
    const auto slash = word.find('/');
    if (slash == std::string::npos) {
      throw std::runtime_error("there is no need to specify a resource type as a separate argument when passing "
                               "arguments in resource/name form (e.g. 'deckhand " + verb + " pod/" + word + "')");
    }
    if (!is_pod_type(word.substr(0, slash))) {
      throw std::runtime_error("the server doesn't have a resource type \"" + word.substr(0, slash) + "\"");
    }
    names.push_back(word.substr(slash + 1));
  }
  return names;
}

// A Pod as kubectl prints it inside a List: with its apiVersion and kind.
json with_type(json pod) {
  if (!pod.contains("apiVersion")) pod["apiVersion"] = "v1";
  if (!pod.contains("kind")) pod["kind"] = "Pod";
  return pod;
}

void no_resources_found(const std::string& ns, bool all_namespaces) {
  std::cerr << (all_namespaces ? std::string("No resources found") : "No resources found in " + ns + " namespace.") << "\n";
}

// Go's time.ParseDuration for --since ("5s", "2m", "1h30m", "1.5h"),
// rounded up to whole seconds as kubectl sends it.
int64_t since_seconds(const std::string& value) {
  const auto invalid = [&] {
    return std::runtime_error("invalid argument \"" + value + "\" for \"--since\" flag: time: invalid duration \"" +
                              value + "\"");
  };
  static const std::vector<std::pair<std::string, double>> kUnits = {
      {"ns", 1e-9}, {"us", 1e-6}, {"µs", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
  if (value.empty()) throw invalid();
  double seconds = 0;
  std::size_t i = 0;
  while (i < value.size()) {
    const std::size_t start = i;
    while (i < value.size() && (std::isdigit(static_cast<unsigned char>(value[i])) != 0 || value[i] == '.')) ++i;
    const std::string digits = value.substr(start, i - start);
    if (digits.find_first_of("0123456789") == std::string::npos || digits.find('.') != digits.rfind('.')) {
      throw invalid();
    }
    const double number = std::stod(digits);
    const std::pair<std::string, double>* unit = nullptr;
    for (const auto& candidate : kUnits) {
      if (value.compare(i, candidate.first.size(), candidate.first) == 0 &&
          (unit == nullptr || candidate.first.size() > unit->first.size())) {
        unit = &candidate;
      }
    }
    if (unit == nullptr) throw invalid();
    seconds += number * unit->second;
    i += unit->first.size();
  }
  return static_cast<int64_t>(std::ceil(seconds));
}

int apply_manifests(const ApiClient& client, const std::vector<std::string>& files) {
  if (files.empty()) throw std::runtime_error("must specify one of -f and -k");
  const std::vector<ManifestInput> inputs = read_manifest_inputs(files, std::cin);
  if (inputs.empty()) throw std::runtime_error("no objects passed to apply");
  int failures = 0;
  for (const ManifestInput& input : inputs) {
    const ApiResponse response = client.post("/v1/apply?source=" + url_encode(input.source), input.text);
    if (response.status != 200) {
      std::cerr << "error: " << ApiClient::error_message(response) << "\n";
      ++failures;
      continue;
    }
    const json result = parse_body(response);
    for (const json& applied : list(result, "applied")) {
      std::cout << "pod/" << text(applied, "name") << " " << text(applied, "action") << "\n";
    }
    for (const json& error : list(result, "errors")) {
      std::cerr << "error: " << (error.is_string() ? error.get<std::string>() : error.dump()) << "\n";
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}

struct GetOptions {
  std::string ns = "default";
  bool all_namespaces = false;
  std::string output;
  std::string selector;
  bool no_headers = false;
  bool watch = false;
  bool watch_only = false;           // --watch-only: no current pods first
  bool output_watch_events = false;  // objects wrapped in {"type", "object"}, an EVENT column
};

// `get -w`'s output, an event at a time: table rows (the header and widths
// set by the first rows), or each object as -o json/yaml/name prints it.
class WatchPrinter {
 public:
  explicit WatchPrinter(const GetOptions& options)
      : options_(options),
        table_(PodTableOptions{options.output == "wide", options.all_namespaces, options.no_headers},
               options.output_watch_events) {}

  void print(const std::vector<PodTableStream::Row>& events) {
    std::string out;
    if (options_.output == "json" || options_.output == "yaml") {
      for (const PodTableStream::Row& event : events) {
        const json object = options_.output_watch_events ? json{{"type", event.event}, {"object", with_type(event.pod)}}
                                                         : with_type(event.pod);
        if (options_.output == "json") {
          out += to_kubectl_json(object);
        } else {
          out += (printed_++ == 0 ? "" : "---\n") + to_kubectl_yaml(object);  // go-yaml's document separator
        }
      }
    } else if (options_.output == "name") {
      for (const PodTableStream::Row& event : events) out += "pod/" + text(member(event.pod, "metadata"), "name") + "\n";
    } else {
      out = table_.print(events, std::chrono::system_clock::now());
    }
    std::cout << out << std::flush;
  }

 private:
  GetOptions options_;
  PodTableStream table_;
  int printed_ = 0;
};

// kubectl's get -w ends with exit 1 when interrupted (its interrupt
// handler's default); every event was flushed as it was printed.
extern "C" void exit_interrupted(int) { std::_Exit(1); }

// `get -w`: one watch of the agent, asked for its initial events and the
// bookmark that ends them (sendInitialEvents), so the current pods print as
// one table and nothing is lost between a list and a watch.
int watch_pods(const std::string& socket, const std::vector<std::string>& names, const GetOptions& options) {
  if (names.size() > 1) {
    throw std::runtime_error("watch is only supported on individual resources and resource collections - more than 1 "
                             "resource was found");
  }
  std::string target = (options.all_namespaces ? "/api/v1/pods" : pods_path(options.ns)) +
                       "?watch=true&sendInitialEvents=true&allowWatchBookmarks=true";
  if (!options.selector.empty()) target += "&labelSelector=" + url_encode(options.selector);
  if (!names.empty()) target += "&fieldSelector=" + url_encode("metadata.name=" + names[0]);
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) std::signal(signal_number, exit_interrupted);

  ApiStream stream(socket, target);
  if (stream.status() != 200) return report_server_error({stream.status(), stream.read_rest()});
  WatchPrinter printer(options);
  std::vector<PodTableStream::Row> initial;
  bool initial_done = false;
  while (const std::optional<std::string> line = stream.read_line()) {
    if (line->empty()) continue;
    const json event = json::parse(*line, nullptr, false);
    if (!event.is_object()) throw std::runtime_error("the agent sent an invalid watch event: " + line->substr(0, 200));
    const std::string type = text(event, "type");
    const json& object = member(event, "object");
    if (type == "ERROR") return report_server_error({integer(object, "code") > 0 ? static_cast<int>(integer(object, "code")) : 500,
                                                     object.dump()});
    if (type == "BOOKMARK") {
      const json& annotations = member(member(object, "metadata"), "annotations");
      if (initial_done || text(annotations, "k8s.io/initial-events-end") != "true") continue;
      initial_done = true;
      if (!names.empty() && initial.empty()) {
        std::cerr << "Error from server (NotFound): pods \"" << names[0] << "\" not found\n";
        return 1;
      }
      if (!options.watch_only) printer.print(initial);
      continue;
    }
    if (!initial_done) {
      initial.push_back({type, object});
      continue;
    }
    printer.print({{type, object}});
  }
  return 0;
}

int get_pods(const std::string& socket, const std::vector<std::string>& names, const GetOptions& options) {
  if (options.output != "" && options.output != "wide" && options.output != "json" && options.output != "yaml" &&
      options.output != "name") {
    throw std::runtime_error("unable to match a printer suitable for the output format \"" + options.output +
                             "\", allowed formats are: json,name,wide,yaml");
  }
  if (!names.empty() && !options.selector.empty()) {
    throw std::runtime_error("name cannot be provided when a selector is specified");
  }
  if (!names.empty() && options.all_namespaces) {
    throw std::runtime_error("a resource cannot be retrieved by name across all namespaces");
  }
  if (options.watch || options.watch_only) return watch_pods(socket, names, options);
  const ApiClient client(socket);
  std::vector<json> pods;
  int failures = 0;
  if (names.empty()) {
    std::string target = options.all_namespaces ? "/api/v1/pods" : pods_path(options.ns);
    if (!options.selector.empty()) target += "?labelSelector=" + url_encode(options.selector);
    const ApiResponse response = client.get(target);
    if (response.status != 200) return report_server_error(response);
    const json body = parse_body(response);
    for (const json& pod : list(body, "items")) pods.push_back(pod);
  } else {
    for (const std::string& name : names) {
      const ApiResponse response = client.get(pod_path(options.ns, name));
      if (response.status != 200) {
        report_server_error(response);
        ++failures;
        continue;
      }
      pods.push_back(parse_body(response));
    }
  }

  if (options.output == "json" || options.output == "yaml") {
    // One name asked for: the Pod itself (or only the error); otherwise a List.
    if (names.size() == 1 && pods.empty()) return 1;
    json object = names.size() == 1 ? with_type(pods.front()) : kubectl_list(json::array());
    if (names.size() != 1) {
      for (const json& pod : pods) object["items"].push_back(with_type(pod));
    }
    std::cout << (options.output == "json" ? to_kubectl_json(object) : to_kubectl_yaml(object));
  } else if (options.output == "name") {
    for (const json& pod : pods) std::cout << "pod/" << text(member(pod, "metadata"), "name") << "\n";
  } else {
    const PodTableOptions table{options.output == "wide", options.all_namespaces, options.no_headers};
    std::cout << render_pod_table(pods, table, std::chrono::system_clock::now());
    if (pods.empty() && failures == 0) no_resources_found(options.ns, options.all_namespaces);
  }
  return failures == 0 ? 0 : 1;
}

// The pod's events, or nullopt when the agent could not give them (kubectl
// then prints no Events section). Events of an earlier pod of the same
// name (another uid) are left out, as kubectl's uid field selector does.
std::optional<json> pod_events(const ApiClient& client, const json& pod) {
  const json& metadata = member(pod, "metadata");
  const ApiResponse response =
      client.get("/api/v1/namespaces/" + url_encode(text(metadata, "namespace")) +
                 "/events?fieldSelector=" + url_encode("involvedObject.name=" + text(metadata, "name")));
  if (response.status != 200) return std::nullopt;
  json events = json::parse(response.body, nullptr, false);
  if (!events.is_object()) return std::nullopt;
  json kept = json::array();
  for (const json& event : list(events, "items")) {
    const std::string uid = text(member(event, "involvedObject"), "uid");
    if (uid.empty() || uid == text(metadata, "uid")) kept.push_back(event);
  }
  events["items"] = kept;
  return events;
}

int describe_pods(const ApiClient& client, std::vector<std::string> names, const std::string& ns) {
  if (names.empty()) {
    const ApiResponse response = client.get(pods_path(ns));
    if (response.status != 200) return report_server_error(response);
    for (const json& pod : list(parse_body(response), "items")) names.push_back(text(member(pod, "metadata"), "name"));
    if (names.empty()) {
      no_resources_found(ns, false);
      return 0;
    }
  }
  int failures = 0;
  bool first = true;
  for (const std::string& name : names) {
    const ApiResponse response = client.get(pod_path(ns, name));
    if (response.status != 200) {
      report_server_error(response);
      ++failures;
      continue;
    }
    const json pod = parse_body(response);
    std::cout << (first ? "" : "\n\n") << describe_pod(pod, pod_events(client, pod), std::chrono::system_clock::now());
    first = false;
  }
  return failures == 0 ? 0 : 1;
}

int delete_pods(const ApiClient& client, const std::vector<std::pair<std::string, std::string>>& pods) {
  int failures = 0;
  for (const auto& [ns, name] : pods) {
    const ApiResponse response = client.del(pod_path(ns, name));
    if (response.status != 200 && response.status != 202) {
      report_server_error(response);
      ++failures;
      continue;
    }
    std::cout << "pod \"" << name << "\" deleted\n";
  }
  return failures == 0 ? 0 : 1;
}

struct LogOptions {
  std::string ns = "default";
  std::string container;
  int64_t tail = -1;
  bool previous = false;
  bool timestamps = false;
  std::string since;
};

int print_logs(const std::string& socket, const std::vector<std::string>& words, LogOptions options, bool follow) {
  if (words.empty() || words.size() > 2) {
    throw std::runtime_error("expected 'logs POD [CONTAINER] [-c CONTAINER]': POD is a required argument for the logs "
                             "command");
  }
  std::string pod = words[0];
  for (const char* prefix : {"pod/", "pods/", "po/"}) {
    if (pod.rfind(prefix, 0) == 0) pod = pod.substr(std::string_view(prefix).size());
  }
  if (words.size() == 2) {
    if (!options.container.empty()) throw std::runtime_error("only one of -c or an inline [CONTAINER] arg is allowed");
    options.container = words[1];
  }
  if (options.tail < -1) throw std::runtime_error("--tail must be greater than or equal to -1");
  std::string query;
  auto add = [&query](const std::string& key, const std::string& value) {
    query += (query.empty() ? "?" : "&") + key + "=" + url_encode(value);
  };
  if (!options.container.empty()) add("container", options.container);
  if (options.tail >= 0) add("tailLines", std::to_string(options.tail));
  if (options.previous) add("previous", "true");
  if (options.timestamps) add("timestamps", "true");
  if (!options.since.empty()) {
    const int64_t seconds = since_seconds(options.since);
    if (seconds < 0) throw std::runtime_error("--since must be greater than 0");
    if (seconds > 0) add("sinceSeconds", std::to_string(seconds));
  }
  if (follow) {
    // Printed as it arrives; the agent ends the stream when the container
    // has exited and its log is read (Ctrl-C ends us as it ends kubectl).
    add("follow", "true");
    ApiStream stream(socket, pod_path(options.ns, pod) + "/log" + query);
    if (stream.status() != 200) return report_server_error({stream.status(), stream.read_rest()});
    while (const std::optional<std::string> piece = stream.read_some()) std::cout << *piece << std::flush;
    return 0;
  }
  const ApiResponse response = ApiClient(socket).get(pod_path(options.ns, pod) + "/log" + query);
  if (response.status != 200) return report_server_error(response);
  std::cout << response.body << std::flush;
  return 0;
}

// Runs `body`, turning exceptions into kubectl's "error: ..." and exit 1.
template <typename Body>
int guarded(Body body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace

int apply_command(const std::vector<std::string>& args) {
  po::options_description options("Options");
  std::vector<std::string> files, words;
  std::string socket;
  options.add_options()("filename,f", po::value(&files), "a manifest file, a directory of them, or - (repeatable)")(
      "socket", po::value(&socket), "the agent's API socket");
  po::variables_map values;
  if (int code = parse_command_words("apply", kApplyUsage, args, options, words, values); code >= 0) return code;
  return guarded([&] {
    if (!words.empty()) throw std::runtime_error("unexpected arguments: apply takes its manifests with -f");
    return apply_manifests(ApiClient(resolve_socket(socket)), files);
  });
}

int get_command(const std::vector<std::string>& args) {
  po::options_description options("Options");
  GetOptions get_options;
  std::vector<std::string> words;
  std::string socket;
  options.add_options()("namespace,n", po::value(&get_options.ns), "the namespace (default: default)")(
      "all-namespaces,A", po::bool_switch(&get_options.all_namespaces), "pods of every namespace")(
      "output,o", po::value(&get_options.output), "wide, yaml, json or name")(
      "selector,l", po::value(&get_options.selector), "a label selector (app=web, tier in (a,b), !canary)")(
      "no-headers", po::bool_switch(&get_options.no_headers), "no header line")(
      "watch,w", po::bool_switch(&get_options.watch), "after listing the pods, print each change")(
      "watch-only", po::bool_switch(&get_options.watch_only), "print each change, without listing the pods first")(
      "output-watch-events", po::bool_switch(&get_options.output_watch_events),
      "show the event type (ADDED, MODIFIED, DELETED) of each change")(
      "socket", po::value(&socket), "the agent's API socket");
  po::variables_map values;
  if (int code = parse_command_words("get", kGetUsage, args, options, words, values); code >= 0) return code;
  return guarded([&] { return get_pods(resolve_socket(socket), pod_names(words, "get"), get_options); });
}

int describe_command(const std::vector<std::string>& args) {
  po::options_description options("Options");
  std::string ns = "default", socket;
  std::vector<std::string> words;
  options.add_options()("namespace,n", po::value(&ns), "the namespace (default: default)")(
      "socket", po::value(&socket), "the agent's API socket");
  po::variables_map values;
  if (int code = parse_command_words("describe", kDescribeUsage, args, options, words, values); code >= 0) return code;
  return guarded([&] { return describe_pods(ApiClient(resolve_socket(socket)), pod_names(words, "describe"), ns); });
}

int delete_command(const std::vector<std::string>& args) {
  po::options_description options("Options");
  std::string ns, socket;
  std::vector<std::string> files, words;
  options.add_options()("namespace,n", po::value(&ns), "the namespace of the named pods (default: default)")(
      "filename,f", po::value(&files), "delete the pods of these manifests (file, directory or -)")(
      "socket", po::value(&socket), "the agent's API socket");
  po::variables_map values;
  if (int code = parse_command_words("delete", kDeleteUsage, args, options, words, values); code >= 0) return code;
  return guarded([&] {
    std::vector<std::pair<std::string, std::string>> pods;
    if (!files.empty()) {
      if (!words.empty()) throw std::runtime_error("cannot name pods and use -f together");
      if (!ns.empty()) throw std::runtime_error("--namespace cannot be used with -f: the manifests name their namespace");
      for (const ManifestInput& input : read_manifest_inputs(files, std::cin)) {
        for (const pods::Pod& pod : pods::parse_manifest(input.text, input.source)) {
          pods.emplace_back(pod.metadata.namespace_, pod.metadata.name);
        }
      }
    } else {
      if (words.empty()) throw std::runtime_error("you must provide one or more resources by argument or filename");
      const std::vector<std::string> names = pod_names(words, "delete");
      if (names.empty()) throw std::runtime_error("resource(s) were provided, but no name was specified");
      for (const std::string& name : names) pods.emplace_back(ns.empty() ? "default" : ns, name);
    }
    return delete_pods(ApiClient(resolve_socket(socket)), pods);
  });
}

int logs_command(const std::vector<std::string>& args) {
  po::options_description options("Options");
  LogOptions log_options;
  bool follow = false;
  std::string socket;
  std::vector<std::string> words;
  options.add_options()("namespace,n", po::value(&log_options.ns), "the namespace (default: default)")(
      "container,c", po::value(&log_options.container), "the container (needed when the pod has several)")(
      "tail", po::value(&log_options.tail), "the last N lines only (default: all)")(
      "previous,p", po::bool_switch(&log_options.previous), "the log of the container's previous run")(
      "timestamps", po::bool_switch(&log_options.timestamps), "prefix each line with its RFC 3339 time")(
      "since", po::value(&log_options.since), "only lines newer than this (5s, 2m, 3h)")(
      "follow,f", po::bool_switch(&follow), "go on printing the log as the container writes it")(
      "socket", po::value(&socket), "the agent's API socket");
  po::variables_map values;
  if (int code = parse_command_words("logs", kLogsUsage, args, options, words, values); code >= 0) return code;
  return guarded([&] { return print_logs(resolve_socket(socket), words, log_options, follow); });
}

}  // namespace deckhand::cli
