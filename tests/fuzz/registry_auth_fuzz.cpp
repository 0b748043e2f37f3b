// libFuzzer target: what a registry and a user hand the registry client as
// text: WWW-Authenticate challenges (from any registry the node pulls from)
// and Docker auth files. The only acceptable outcomes are parsed values or a
// StorageError; any other exception, crash or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "registry_auth.hpp"
#include "storage_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& challenge : deckhand::storage::parse_www_authenticate(text)) {
    (void)challenge.params.size();
  }
  try {
    for (const auto& [host, credentials] : deckhand::storage::parse_docker_auth_file(text)) {
      (void)deckhand::storage::basic_authorization(credentials);
    }
  } catch (const deckhand::storage::StorageError&) {
    // expected for most inputs
  }
  return 0;
}
