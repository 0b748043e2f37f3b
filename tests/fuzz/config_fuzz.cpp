// libFuzzer target: the agent's configuration parser on arbitrary bytes. The
// only acceptable outcomes are a Config or a ConfigError; any other exception,
// crash, leak or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    deckhand::parse_config(text, "fuzz.yaml");
  } catch (const deckhand::ConfigError&) {
    // expected for most inputs
  }
  return 0;
}
