// `deckhand <command>`: dispatch and the top-level help.
#include <iostream>

#include "cli/commands.hpp"

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
  oci        Run OCI bundles with the runtime plugin, runc-style (create, start, state, kill, delete, run, list)
  help       Show this help, or a command's: deckhand help <command>

Use "deckhand <command> --help" for more about a command.
)";

}  // namespace

int fail(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return 1;
}

int parse_command_line(const std::string& command, const std::string& usage, const std::vector<std::string>& args,
                       po::options_description& options, const po::positional_options_description& positional,
                       po::variables_map& values, const po::options_description& hidden) {
  options.add_options()("help,h", "show this help");
  po::options_description all;
  all.add(options).add(hidden);
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), values);
    po::notify(values);
  } catch (const po::error& e) {
    std::cerr << "error: " << e.what() << "\nSee 'deckhand " << command << " --help'.\n";
    return 1;
  }
  if (values.count("help")) {
    std::cout << usage << "\n" << options << "\n";
    return 0;
  }
  return -1;
}

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
    if (topic == "agent") return agent_command(args);
    if (topic == "version") return version_command(args);
    if (topic == "plugins") return plugins_command(args);
    if (topic == "oci") return oci_command(args);
    return fail("unknown command \"" + topic + "\" for \"deckhand help\"");
  }
  if (command == "agent") return agent_command(args);
  if (command == "version" || command == "--version") return version_command(args);
  if (command == "plugins") return plugins_command(args);
  if (command == "oci") return oci_command(args);
  std::cerr << "error: unknown command \"" << command << "\" for \"deckhand\"\nRun 'deckhand --help' for usage.\n";
  return 1;
}

}  // namespace deckhand::cli
