// The CLI's commands. Each takes the arguments after its own name and returns
// the process exit code; errors go to stderr, results to stdout.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace deckhand::cli {

// `deckhand ARGS` (the CLI's main).
int run(int argc, char** argv);

// `deckhand-agent ARGS` (the daemon's main; `deckhand agent ARGS` execs it).
int agent_command(const std::vector<std::string>& args);
int version_command(const std::vector<std::string>& args);
int plugins_command(const std::vector<std::string>& args);
int oci_command(const std::vector<std::string>& args);

// Parses args against `options` (+ positionals); prints usage for --help.
// Returns -1 to continue, or an exit code to return at once.
// `hidden` holds options that are parsed but not shown (positional catch-alls).
int parse_command_line(const std::string& command, const std::string& usage, const std::vector<std::string>& args,
                       boost::program_options::options_description& options,
                       const boost::program_options::positional_options_description& positional,
                       boost::program_options::variables_map& values,
                       const boost::program_options::options_description& hidden = {});

// Writes "error: <message>" to stderr and returns 1.
int fail(const std::string& message);

}  // namespace deckhand::cli
