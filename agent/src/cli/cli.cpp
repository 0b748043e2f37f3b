// `deckhand <command>`: dispatch and the top-level help.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/commands.hpp"
#include "util/paths.hpp"

namespace deckhand::cli {

namespace po = boost::program_options;

namespace {

const char* const kUsage = R"(deckhand: a bare-metal node agent that runs pods from plugins.

Usage:
  deckhand <command> [options]

Commands:
  agent      Run the node agent (the daemon)
  version    Print the client and agent versions and the plugin ABI
  plugins    List the agent's plugins, or call one: deckhand plugins call NAME OPERATION [JSON]
  apply      Create or update pods from manifests: deckhand apply -f FILE|DIR|-
  get        List pods: deckhand get pods [NAME...] [-n NS | -A] [-o wide|yaml|json|name] [-l SELECTOR]
  describe   Show a pod's details and events: deckhand describe pod NAME
  logs       Print a container's log: deckhand logs POD [-c CONTAINER] [--tail N] [-p] [--since 5m]
  exec       Run a command in a container: deckhand exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [ARGS...]
  delete     Delete pods: deckhand delete pod NAME... | deckhand delete -f FILE
  image      Manage images: pull, load, ls, inspect, rm, prune
  oci        Run OCI bundles with the runtime plugin, runc-style (create, start, state, kill, delete, run, list)
  help       Show this help, or a command's: deckhand help <command>

Use "deckhand <command> --help" for more about a command.
)";

// `deckhand agent ARGS` is the daemon program, deckhand-agent ARGS: exec'd,
// so it keeps this process's pid for whoever started it (systemd, a test).
int exec_agent(const std::vector<std::string>& args) {
  const std::string program = agent_program_path();
  std::vector<char*> argv = {const_cast<char*>(program.c_str())};
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  return fail("cannot run the agent program " + program + ": " + std::strerror(errno));
}

}  // namespace

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 1;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "-h" || command == "--help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "help") {
    if (args.empty()) {
      std::cout << kUsage;
      return 0;
    }
    const std::string topic = args.front();
    args = {"--help"};
    if (topic == "agent") return exec_agent(args);
    if (topic == "version") return version_command(args);
    if (topic == "plugins") return plugins_command(args);
    if (topic == "oci") return oci_command(args);
    if (topic == "image") return image_command(args);
    if (topic == "apply") return apply_command(args);
    if (topic == "get") return get_command(args);
    if (topic == "describe") return describe_command(args);
    if (topic == "logs") return logs_command(args);
    if (topic == "exec") return exec_command(args);
    if (topic == "delete") return delete_command(args);
    return fail("unknown command \"" + topic + "\" for \"deckhand help\"");
  }
  if (command == "agent") return exec_agent(args);
  if (command == "version" || command == "--version") return version_command(args);
  if (command == "plugins") return plugins_command(args);
  if (command == "oci") return oci_command(args);
  if (command == "image") return image_command(args);
  if (command == "apply") return apply_command(args);
  if (command == "get") return get_command(args);
  if (command == "describe") return describe_command(args);
  if (command == "logs") return logs_command(args);
  if (command == "exec") return exec_command(args);
  if (command == "delete") return delete_command(args);
  std::cerr << "error: unknown command \"" << command << "\" for \"deckhand\"\nRun 'deckhand --help' for usage.\n";
  return 1;
}

}  // namespace deckhand::cli
