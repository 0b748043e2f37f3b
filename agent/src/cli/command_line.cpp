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

int parse_command_words(const std::string& command, const std::string& usage, const std::vector<std::string>& args,
                        po::options_description& options, std::vector<std::string>& words, po::variables_map& values) {
  po::options_description hidden;
  hidden.add_options()("words", po::value(&words), "");
  po::positional_options_description positional;
  positional.add("words", -1);
  return parse_command_line(command, usage, args, options, positional, values, hidden);
}

int parse_group_options(const std::vector<std::string>& args,
                        const std::vector<std::pair<std::string, std::string*>>& options, const std::string& usage,
                        std::size_t& subcommand_index) {
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "-h" || word == "--help") {
      std::cout << usage << "\n";
      return 0;
    }
    bool matched = false;
    for (const auto& [name, value] : options) {
      if (word == name && i + 1 < args.size()) {
        *value = args[++i];
      } else if (word.rfind(name + "=", 0) == 0) {
        *value = word.substr(name.size() + 1);
      } else {
        continue;
      }
      matched = true;
      break;
    }
    if (!matched) break;
  }
  if (i == args.size()) {
    std::cerr << usage << "\n";
    return 1;
  }
  subcommand_index = i;
  return -1;
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
