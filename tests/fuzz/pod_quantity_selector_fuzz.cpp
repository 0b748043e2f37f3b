// libFuzzer target: Kubernetes quantities and label selectors on arbitrary
// bytes. Both come from pod manifests and the command line. The only
// acceptable outcomes are a value or a QuantityError / SelectorError; any
// other exception, crash, sanitizer report or slow input is a bug, and so is
// a result that breaks the invariants checked below.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "pods/label_selector.hpp"
#include "pods/quantity.hpp"

namespace {

void check_quantity(std::string_view text) {
  deckhand::pods::Quantity quantity;
  try {
    quantity = deckhand::pods::Quantity::parse(text);
  } catch (const deckhand::pods::QuantityError&) {
    return;  // expected for most inputs
  }
  if (quantity.text() != text) std::abort();
  // Both round away from zero, so the value is the millis rounded the same
  // way to thousands (written so that nothing can overflow).
  try {
    const int64_t milli = quantity.milli_value();
    const int64_t away = milli % 1000 == 0 ? 0 : (milli > 0 ? 1 : -1);
    if (quantity.value() != milli / 1000 + away) std::abort();
    if ((milli < 0) != quantity.negative()) std::abort();
  } catch (const deckhand::pods::QuantityError&) {
    // The millis do not fit an int64; the value does.
  }
}

void check_selector(std::string_view text) {
  deckhand::pods::LabelSelector selector;
  try {
    selector = deckhand::pods::LabelSelector::parse(text);
  } catch (const deckhand::pods::SelectorError&) {
    return;
  }
  // Matching against labels built from the selector's own values, and none.
  std::map<std::string, std::string> labels;
  for (const auto& requirement : selector.requirements()) {
    if (!requirement.values.empty()) labels[requirement.key] = requirement.values.front();
  }
  selector.matches(labels);
  selector.matches({});
  if (selector.empty() != selector.requirements().empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_quantity(text);
  check_selector(text);
  return 0;
}
