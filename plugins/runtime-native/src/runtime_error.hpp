// The runtime's errors, each with the plugin status it maps to.
#pragma once

#include <stdexcept>
#include <string>

namespace deckhand::runtime {

enum class Failure { invalid, not_found, exists, precondition, internal };

class RuntimeError : public std::runtime_error {
 public:
  RuntimeError(Failure kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Failure kind() const { return kind_; }

 private:
  Failure kind_;
};

}  // namespace deckhand::runtime
