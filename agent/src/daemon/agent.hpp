// The node agent: loads its plugins, serves probes and metrics over TCP and
// the local API over a unix socket, and runs until SIGTERM or SIGINT.
#pragma once

#include "config/config.hpp"

namespace deckhand {

// Runs the agent with a validated configuration; returns the exit code
// (0 after a clean shutdown, 1 when it cannot start).
int run_agent(const Config& config);

}  // namespace deckhand
