// deckhand-agent: the node agent daemon. Users run it as `deckhand agent`,
// which execs this program with the same arguments.
#include "cli/commands.hpp"

int main(int argc, char** argv) { return deckhand::cli::agent_command({argv + 1, argv + argc}); }
