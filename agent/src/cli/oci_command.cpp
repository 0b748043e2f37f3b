// `deckhand oci`: a runc-compatible front end for the runtime plugin, so the
// runtime can be driven on standard OCI bundles, compared with runc on the
// same bundle, and used by tools that expect runc's arguments and output.
// It loads the runtime plugin in-process through the SDK, exactly as the
// agent does; any vendor runtime plugin works here too (--plugin).
#include <deckhand/plugin.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/local_plugin.hpp"
#include "cli/table.hpp"
#include "util/paths.hpp"

namespace deckhand::cli {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

const char* const kUsage = R"(Run OCI bundles with deckhand's container runtime, with runc's commands and flags.

Usage:
  deckhand oci [--root DIR] [--plugin FILE] COMMAND [options] ID

Commands:
  create [--bundle DIR] [--pid-file FILE] ID   create a container (its process waits for start)
  start ID                                      start a created container
  state ID                                      print the container's OCI state (JSON)
  kill ID [SIGNAL]                              send a signal (default SIGTERM)
  exec ID COMMAND [ARG...]                      run a process in a running container (its exit code)
  delete [--force] ID                           delete a stopped container (--force kills it first)
  run [--bundle DIR] [--pid-file FILE] [--detach] ID
                                                create and start; without --detach wait, delete, and
                                                exit with the container's exit code
  list [--format table|json] [--quiet]         list containers
  spec [--bundle DIR] [--privileged]            write a config.json with deckhand's defaults into the bundle
                                                (RuntimeDefault hardening; --privileged: Kubernetes' privileged)

--root defaults to /run/deckhand/runtime; --bundle to the current directory;
--plugin to the installed runtime-native plugin.)";

struct OciContext {
  std::string root = "/run/deckhand/runtime";
  std::string plugin_path;
};

class RuntimeClient : public LocalPlugin {
 public:
  // The loader keeps a per-plugin state dir; the runtime's own state is --root.
  explicit RuntimeClient(const OciContext& context)
      : LocalPlugin(context.plugin_path.empty() ? default_plugin_dir() + "/libdeckhand-runtime-native.so"
                                                : context.plugin_path,
                    DH_KIND_RUNTIME, json({{"root", context.root}}), context.root + "/.deckhand") {}
};

std::string bundle_or_cwd(const std::string& bundle) {
  if (!bundle.empty()) return bundle;
  char cwd[4096];
  return ::getcwd(cwd, sizeof cwd) != nullptr ? cwd : ".";
}

int list(RuntimeClient& client, const std::string& format, bool quiet) {
  const json result = client.call("list", json::object());
  if (format == "json") {
    std::cout << result["containers"].dump() << "\n";
    return 0;
  }
  if (quiet) {
    for (const auto& c : result["containers"]) std::cout << c.value("id", "") << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const auto& c : result["containers"]) {
    rows.push_back({c.value("id", ""), std::to_string(c.value("pid", 0)), c.value("status", ""),
                    c.value("bundle", ""), c.value("created", ""), "root"});
  }
  print_table(std::cout, rows);
  return 0;
}

int dispatch(const OciContext& context, const std::string& command, const std::vector<std::string>& args) {
  if (command == "exec") {
    // Everything after the id is the command line, options included (sh -c ...).
    std::vector<std::string> words = args;
    if (!words.empty() && words[0] == "--") words.erase(words.begin());
    if (words.size() < 2 || words[0].rfind("-", 0) == 0) throw std::runtime_error("usage: deckhand oci exec ID COMMAND [ARG...]");
    if (words.size() > 2 && words[1] == "--") words.erase(words.begin() + 1);
    RuntimeClient client(context);
    const json process = {{"args", std::vector<std::string>(words.begin() + 1, words.end())}};
    const json result = client.call("exec", {{"id", words[0]}, {"process", process}, {"stdio", "inherit"}});
    return result.value("exit_code", 1);
  }
  po::options_description options("Options");
  std::string bundle, pid_file, format = "table";
  std::vector<std::string> words;
  options.add_options()("bundle,b", po::value(&bundle), "the bundle directory")(
      "pid-file", po::value(&pid_file), "write the container's pid to this file")("detach,d", "do not wait (run)")(
      "force,f", "kill a running container first (delete)")("format", po::value(&format), "table or json (list)")(
      "quiet,q", "ids only (list)")("privileged", "every capability, no seccomp, nothing masked (spec)");
  po::variables_map values;
  if (int code = parse_command_words("oci " + command, kUsage, args, options, words, values); code >= 0) {
    return code;
  }
  RuntimeClient client(context);
  auto need_id = [&](std::size_t extra = 0) {
    if (words.empty() || words.size() > 1 + extra) throw std::runtime_error("usage: deckhand oci " + command + " ID");
    return words[0];
  };
  if (command == "list") return list(client, format, values.count("quiet") > 0);
  if (command == "spec") {
    if (!words.empty()) throw std::runtime_error("usage: deckhand oci spec [--bundle DIR] [--privileged]");
    const std::string path = bundle_or_cwd(bundle) + "/config.json";
    const json spec = client.call("default_spec", {{"profile", values.count("privileged") ? "Privileged" : "RuntimeDefault"}});
    // As runc spec: never overwrite.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) throw std::runtime_error("File " + path + " exists. Remove it first");
    if (fd < 0) throw std::runtime_error("create " + path + ": " + std::strerror(errno));
    const std::string text = spec.dump(2) + "\n";
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!written) throw std::runtime_error("write " + path + ": " + std::strerror(errno));
    return 0;
  }
  if (command == "state") {
    std::cout << client.call("state", {{"id", need_id()}}).dump(2) << "\n";
    return 0;
  }
  if (command == "start") {
    client.call("start", {{"id", need_id()}});
    return 0;
  }
  if (command == "kill") {
    const std::string id = need_id(1);
    client.call("kill", {{"id", id}, {"signal", words.size() > 1 ? words[1] : "TERM"}});
    return 0;
  }
  if (command == "delete") {
    client.call("remove", {{"id", need_id()}, {"force", values.count("force") > 0}});
    return 0;
  }
  if (command == "create" || command == "run") {
    const std::string id = need_id();
    json request = {{"id", id}, {"bundle", bundle_or_cwd(bundle)}, {"stdio", "inherit"}};
    if (!pid_file.empty()) request["pid_file"] = pid_file;
    client.call("create", request);
    if (command == "create") return 0;
    client.call("start", {{"id", id}});
    if (values.count("detach")) return 0;
    const json exit = client.call("wait", {{"id", id}});
    client.call("remove", {{"id", id}, {"force", true}});
    if (exit.contains("error")) std::cerr << "error: " << exit["error"].get<std::string>() << "\n";
    return exit.value("exit_code", 1);
  }
  throw std::runtime_error("unknown oci command \"" + command + "\"; see 'deckhand oci --help'");
}

}  // namespace

int oci_command(const std::vector<std::string>& args) {
  OciContext context;
  std::size_t i = 0;
  if (int code = parse_group_options(args, {{"--root", &context.root}, {"--plugin", &context.plugin_path}}, kUsage, i);
      code >= 0) {
    return code;
  }
  if (context.root.empty() || context.root.front() != '/') return fail("--root must be an absolute path");
  const std::string command = args[i];
  try {
    return dispatch(context, command, std::vector<std::string>(args.begin() + static_cast<long>(i) + 1, args.end()));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace deckhand::cli
