// What a storage call threw, for tests that assert on the failure's kind or
// message: a StorageError is caught and reported; no error is a test failure.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "storage_error.hpp"

namespace deckhand::storage {

inline Failure failure_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const StorageError& error) {
    return error.kind();
  }
  ADD_FAILURE() << "no StorageError thrown";
  return Failure::internal;
}

inline std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const StorageError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no StorageError thrown";
  return "";
}

}  // namespace deckhand::storage
