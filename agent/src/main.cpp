#include "cli/commands.hpp"

int main(int argc, char** argv) { return deckhand::cli::run(argc, argv); }
