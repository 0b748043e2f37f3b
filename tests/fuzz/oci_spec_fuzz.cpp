// libFuzzer target: the runtime's config.json parser (and through it the
// seccomp parser and compiler) on arbitrary bytes. A bundle is untrusted
// input. The only acceptable outcomes are a Spec or a SpecError (text that is
// not JSON never reaches the parser, as in load_spec); any other exception,
// crash, leak or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "seccomp.hpp"
#include "spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto config = nlohmann::json::parse(data, data + size, nullptr, false);
  if (config.is_discarded()) return 0;
  try {
    const deckhand::runtime::Spec spec = deckhand::runtime::parse_spec(config, "/bundle");
    if (spec.seccomp) deckhand::runtime::compile_seccomp(*spec.seccomp);
  } catch (const deckhand::runtime::SpecError&) {
    // expected for most inputs
  }
  return 0;
}
