// Kubernetes resource quantities ("100m", "0.5", "128Mi", "1G", "1e3"), as
// k8s.io/apimachinery/pkg/api/resource parses them: a signed decimal number
// and a suffix (binary Ki..Ei, decimal n u m k M G T P E, or an exponent).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace deckhand::pods {

struct QuantityError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class Quantity {
 public:
  // Throws QuantityError with Kubernetes' message ("quantities must match the
  // regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'") for
  // malformed text ("unable to parse quantity's suffix" for an unknown suffix,
  // as Kubernetes), and naming the text for a value beyond int64.
  static Quantity parse(std::string_view text);

  // The value rounded up to an integer (Quantity.Value()): bytes of memory.
  // "Up" is away from zero, as in Kubernetes: "-1m" gives -1.
  int64_t value() const { return value_; }
  // The value x 1000 rounded up the same way (Quantity.MilliValue()):
  // millicores of CPU. Throws QuantityError naming the text when that does
  // not fit an int64 ("1Ei" has a value, 2^60, but no int64 of millis).
  int64_t milli_value() const;
  bool negative() const { return value_ < 0; }  // a non-zero value never rounds to 0
  const std::string& text() const { return text_; }

 private:
  int64_t value_ = 0;
  int64_t milli_ = 0;
  bool milli_fits_ = true;
  std::string text_;
};

}  // namespace deckhand::pods
