// `deckhand agent`: validates the configuration and runs the daemon.
#include <iostream>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "daemon/agent.hpp"
#include "util/paths.hpp"

namespace deckhand::cli {

namespace po = boost::program_options;

int agent_command(const std::vector<std::string>& args) {
  po::options_description options("Options");
  std::string config_path;
  options.add_options()("config,c", po::value(&config_path), "configuration file (default: the installed config.yaml)")(
      "check", "validate the configuration and exit");
  po::variables_map values;
  const std::string usage =
      "Run the deckhand node agent in the foreground.\n\nUsage:\n  deckhand agent [--config FILE] [--check]\n\n"
      "Without --config it reads " + default_config_path() + ".";
  if (int code = parse_command_line("agent", usage, args, options, {}, values); code >= 0) return code;
  if (config_path.empty()) config_path = default_config_path();
  Config config;
  try {
    config = load_config(config_path);
  } catch (const ConfigError& e) {
    return fail(e.what());
  }
  if (values.count("check")) {
    std::cout << config_path << ": configuration is valid\n";
    return 0;
  }
  return run_agent(config);
}

}  // namespace deckhand::cli
