// The network plugin's errors, each with the plugin status it maps to.
#pragma once

#include <stdexcept>
#include <string>

namespace deckhand::network {

enum class Failure {
  invalid,       // a malformed request or config value (INVALID_ARGUMENT)
  not_found,     // a pod, namespace or interface that does not exist (NOT_FOUND)
  exists,        // a hostPort already taken, an interface name in use (ALREADY_EXISTS)
  precondition,  // the host does not allow it: a conflicting bridge, a broken pod network (FAILED_PRECONDITION)
  exhausted,     // the address pool is used up (RESOURCE_EXHAUSTED)
  internal,      // a bug or an unexpected kernel or system failure (INTERNAL)
};

class NetworkError : public std::runtime_error {
 public:
  NetworkError(Failure kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Failure kind() const { return kind_; }

 private:
  Failure kind_;
};

}  // namespace deckhand::network
