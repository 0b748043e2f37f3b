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
int image_command(const std::vector<std::string>& args);
// kubectl's pod commands on the agent's local API (pod_commands.cpp).
int apply_command(const std::vector<std::string>& args);
int get_command(const std::vector<std::string>& args);
int describe_command(const std::vector<std::string>& args);
int delete_command(const std::vector<std::string>& args);
int logs_command(const std::vector<std::string>& args);
// `kubectl exec` on the local API's exec stream (exec_command.cpp).
int exec_command(const std::vector<std::string>& args);

// Parses args against `options` (+ positionals); prints usage for --help.
// Returns -1 to continue, or an exit code to return at once.
// `hidden` holds options that are parsed but not shown (positional catch-alls).
int parse_command_line(const std::string& command, const std::string& usage, const std::vector<std::string>& args,
                       boost::program_options::options_description& options,
                       const boost::program_options::positional_options_description& positional,
                       boost::program_options::variables_map& values,
                       const boost::program_options::options_description& hidden = {});

// parse_command_line with every positional argument collected in `words`.
int parse_command_words(const std::string& command, const std::string& usage, const std::vector<std::string>& args,
                        boost::program_options::options_description& options, std::vector<std::string>& words,
                        boost::program_options::variables_map& values);

// A group command's own options before its subcommand (`deckhand oci --root
// DIR run ...`): each of `options` ("--root") takes a value, as "--root DIR"
// or "--root=DIR", stored in its string. Sets `subcommand_index` to the first
// other word and returns -1, or returns an exit code at once: 0 after
// printing `usage` for --help, 1 when no subcommand follows.
int parse_group_options(const std::vector<std::string>& args,
                        const std::vector<std::pair<std::string, std::string*>>& options, const std::string& usage,
                        std::size_t& subcommand_index);

// Writes "error: <message>" to stderr and returns 1.
int fail(const std::string& message);

}  // namespace deckhand::cli
