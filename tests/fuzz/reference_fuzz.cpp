// libFuzzer target: image reference parsing on arbitrary bytes. References
// come from users and from pod specs. The only acceptable outcomes are an
// ImageReference or a StorageError; any other exception, crash or sanitizer
// report is a bug, and so is a canonical form that does not parse back to
// the same reference (the image store keys records by it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "reference.hpp"
#include "storage_error.hpp"

namespace {

bool same(const deckhand::storage::ImageReference& a, const deckhand::storage::ImageReference& b) {
  return a.registry == b.registry && a.repository == b.repository && a.tag == b.tag && a.digest == b.digest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  deckhand::storage::is_loopback_registry(text);
  deckhand::storage::ImageReference reference;
  try {
    reference = deckhand::storage::parse_reference(text);
  } catch (const deckhand::storage::StorageError&) {
    return 0;  // expected for most inputs
  }
  reference.familiar();
  reference.api_host();
  deckhand::storage::is_loopback_registry(reference.registry);
  if (!same(deckhand::storage::parse_reference(reference.string()), reference)) std::abort();
  return 0;
}
