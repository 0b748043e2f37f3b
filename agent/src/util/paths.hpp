// Where the installed agent finds its own files, relative to its prefix, so an
// install under any prefix (cmake --install --prefix P) works unchanged.
#pragma once

#include <string>

namespace deckhand {

// The prefix the running program was installed under: <prefix>/bin/deckhand,
// or <prefix>/lib/deckhand/deckhand-agent.
std::string install_prefix();

// The daemon program: <prefix>/lib/deckhand/deckhand-agent, or beside this
// program in a build tree.
std::string agent_program_path();

// <prefix>/etc/deckhand/config.yaml, or /etc/deckhand/config.yaml when the
// prefix is /usr (as GNU install directories and Debian packages place it).
std::string default_config_path();

// <prefix>/lib/deckhand/plugins.
std::string default_plugin_dir();

// Creates dir and its missing parents; dir itself gets `mode` and must end up a
// directory owned by this user. Throws std::runtime_error naming the path.
void make_private_dir(const std::string& dir, unsigned mode = 0700);

}  // namespace deckhand
