// The storage plugin's errors, each with the plugin status it maps to.
#pragma once

#include <stdexcept>
#include <string>

namespace deckhand::storage {

enum class Failure {
  invalid,       // the request or a document names something malformed (INVALID_ARGUMENT)
  not_found,     // an image, blob, layer or volume that does not exist (NOT_FOUND)
  exists,        // create of something that exists (ALREADY_EXISTS)
  precondition,  // valid, but the state does not allow it: an image in use (FAILED_PRECONDITION)
  unavailable,   // a registry that cannot be reached or answers 5xx after the retries (UNAVAILABLE)
  permission,    // a registry refused the credentials (PERMISSION_DENIED)
  exhausted,     // a cap was hit: unpacked size, manifest size, disk full (RESOURCE_EXHAUSTED)
  corrupt,       // content that does not match its digest or size, a hostile layer (INVALID_ARGUMENT)
  internal,      // a bug or an unexpected system failure (INTERNAL)
  deadline,      // the call's deadline passed (DEADLINE_EXCEEDED)
};

class StorageError : public std::runtime_error {
 public:
  StorageError(Failure kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Failure kind() const { return kind_; }

 private:
  Failure kind_;
};

}  // namespace deckhand::storage
