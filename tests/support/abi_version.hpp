// The plugin ABI version the agent and the test plugins are built with, as
// the agent prints it ("1.1"), so that expectations follow a version bump.
#pragma once

#include <deckhand/plugin.h>

#include <string>

namespace deckhand::test {

inline std::string abi_version(int major = DH_ABI_MAJOR) {
  return std::to_string(major) + "." + std::to_string(DH_ABI_MINOR);
}

}  // namespace deckhand::test
