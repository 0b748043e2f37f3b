// The exec subresource of the local API, Kubernetes-shaped:
// POST /api/v1/namespaces/{ns}/pods/{name}/exec?container=C&command=a&command=b
// &stdin=true&stdout=true&stderr=true&tty=true, answered with 101 Switching
// Protocols (Upgrade: deckhand-exec.v1) and then the framed channels of
// http/stream_frames.hpp: the process's stdin, stdout and stderr (or one
// pseudo-terminal with tty), window resizes, and last its exit as a
// metav1.Status. Errors before the upgrade are plain Status answers.
#pragma once

#include <string>
#include <vector>

#include "http/server.hpp"

namespace deckhand {

class PodService;

// The query of an exec request, with the kubelet's defaults: stdout and
// stderr unless set false, stdin and tty when set "true" or "1".
struct ExecOptions {
  std::vector<std::string> command;
  std::string container;
  bool stdin_wanted = false;
  bool stdout_wanted = true;
  bool stderr_wanted = true;  // never with tty (the terminal carries both)
  bool tty = false;
};

// Parses a request target's query; throws std::invalid_argument with the
// API server's message for a request it would refuse.
ExecOptions parse_exec_options(const std::string& target);

// Answers an exec request for pod `ns`/`name`. Runs on the event-loop
// thread (it asks `pods`); the process then runs on the stream's own thread,
// through the runtime plugin the pods use.
void serve_exec(const http::Request& request, http::Responder& respond, PodService& pods,
                const std::string& ns, const std::string& name);

}  // namespace deckhand
