// Command-line helpers shared by the CLI (`deckhand`) and the daemon
// (`deckhand-agent`).
#include <iostream>

#include "cli/commands.hpp"

namespace deckhand::cli {

namespace po = boost::program_options;

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

}  // namespace deckhand::cli
