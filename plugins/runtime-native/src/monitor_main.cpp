// deckhand-monitor ROOT ID: started by the runtime plugin with fd 3 as its
// (and `deckhand-monitor exec ...`, see below)
// report pipe. It detaches (double fork, new session) so that neither the
// agent nor a CLI has to reap it and the container outlives both.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <string>

#include "exec.hpp"
#include "monitor.hpp"

int main(int argc, char** argv) {
  // deckhand-monitor exec ROOT ID PROCESS_JSON: a process inside a running
  // container; stays in the foreground, exits with the process's code.
  if (argc == 5 && std::string(argv[1]) == "exec") {
    deckhand::runtime::ExecArgs args;
    args.root = argv[2];
    args.id = argv[3];
    args.process_json = argv[4];
    return deckhand::runtime::run_exec(args);
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: deckhand-monitor ROOT ID | deckhand-monitor exec ROOT ID PROCESS_JSON\n");
    return 2;
  }
  const pid_t child = ::fork();
  if (child < 0) return 1;
  if (child > 0) return 0;  // the creator reaps this short-lived parent at once
  ::setsid();
  deckhand::runtime::MonitorArgs args;
  args.root = argv[1];
  args.id = argv[2];
  args.report_fd = 3;
  return deckhand::runtime::run_monitor(args);
}
