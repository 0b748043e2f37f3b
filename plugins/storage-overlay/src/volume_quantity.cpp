// parse_quantity_bytes (declared in volumes.hpp): Kubernetes' quantity
// grammar (k8s.io/apimachinery resource.Quantity), evaluated exactly.
//
//   quantity ::= [+-] number suffix
//   number   ::= digits | digits "." digits | digits "." | "." digits
//   suffix   ::= "" | m | k | M | G | T | P | E | Ki | Mi | Gi | Ti | Pi | Ei
//              | ("e" | "E") [+-] digits
//
// The value is digits * 10^(exponent - fraction digits) * 2^(binary
// exponent); it is computed on a small big integer so "0.1Ki" (102.4 bytes,
// 103 after rounding up) and "1e-3" (1 byte) come out exact, whatever the
// number of digits.
#include <cstdint>
#include <string>
#include <vector>

#include "storage_error.hpp"
#include "volumes.hpp"

namespace deckhand::storage {
namespace {

// Unsigned integers of any size, little-endian 32-bit limbs; only what the
// evaluation needs.
class BigUnsigned {
 public:
  void multiply_add(uint32_t factor, uint32_t addend) {
    uint64_t carry = addend;
    for (uint32_t& limb : limbs_) {
      const uint64_t product = static_cast<uint64_t>(limb) * factor + carry;
      limb = static_cast<uint32_t>(product);
      carry = product >> 32;
    }
    if (carry != 0) limbs_.push_back(static_cast<uint32_t>(carry));
  }
  // Divides in place and returns the remainder.
  uint32_t divide(uint32_t divisor) {
    uint64_t remainder = 0;
    for (std::size_t i = limbs_.size(); i-- > 0;) {
      const uint64_t current = (remainder << 32) | limbs_[i];
      limbs_[i] = static_cast<uint32_t>(current / divisor);
      remainder = current % divisor;
    }
    while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
    return static_cast<uint32_t>(remainder);
  }
  bool zero() const { return limbs_.empty(); }
  bool fits_64() const { return limbs_.size() <= 2; }
  uint64_t value_64() const {
    uint64_t value = 0;
    for (std::size_t i = limbs_.size(); i-- > 0;) value = (value << 32) | limbs_[i];
    return value;
  }

 private:
  std::vector<uint32_t> limbs_;  // no high zero limbs, so zero is empty
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The text without its quotes and with anything unprintable shown as '?',
// so an error message stays one readable line.
std::string shown(const std::string& text) {
  std::string visible = text.substr(0, 64);
  for (char& c : visible) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return "\"" + visible + (text.size() > 64 ? "...\"" : "\"");
}

}  // namespace

uint64_t parse_quantity_bytes(const std::string& text) {
  const auto refuse = [&](const std::string& why) -> uint64_t {
    throw StorageError(Failure::invalid, "invalid quantity " + shown(text) + ": " + why);
  };
  const std::string grammar =
      "expected a number with an optional suffix: k M G T P E (powers of 1000), Ki Mi Gi Ti Pi Ei (powers of "
      "1024), m (thousandths) or an exponent such as e6";
  // Long enough for any real quantity; keeps the exact evaluation cheap.
  if (text.empty() || text.size() > 100) return refuse(grammar);

  std::size_t at = 0;
  bool negative = false;
  if (text[at] == '+' || text[at] == '-') negative = text[at++] == '-';

  std::string digits;  // integer and fraction digits together
  std::size_t fraction_digits = 0;
  bool seen_point = false;
  for (; at < text.size() && (is_digit(text[at]) || (text[at] == '.' && !seen_point)); ++at) {
    if (text[at] == '.') {
      seen_point = true;
    } else {
      digits += text[at];
      if (seen_point) ++fraction_digits;
    }
  }
  if (digits.empty()) return refuse(grammar);

  long exponent = 0;  // of 10
  int binary_exponent = 0;
  const std::string suffix = text.substr(at);
  if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E') &&
      (is_digit(suffix[1]) || suffix[1] == '+' || suffix[1] == '-')) {
    std::size_t position = 1;
    const bool negative_exponent = suffix[position] == '-';
    if (suffix[position] == '+' || suffix[position] == '-') ++position;
    if (position == suffix.size()) return refuse(grammar);
    for (; position < suffix.size(); ++position) {
      if (!is_digit(suffix[position])) return refuse(grammar);
      // Saturate: anything this large is 0, 1 byte or an overflow anyway.
      if (exponent < 100000) exponent = exponent * 10 + (suffix[position] - '0');
    }
    if (negative_exponent) exponent = -exponent;
  } else {
    static const struct {
      const char* suffix;
      long exponent;
      int binary_exponent;
    } kSuffixes[] = {{"", 0, 0},   {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},   {"G", 9, 0},
                     {"T", 12, 0}, {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
                     {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60}};
    bool known = false;
    for (const auto& candidate : kSuffixes) {
      if (suffix == candidate.suffix) {
        exponent = candidate.exponent;
        binary_exponent = candidate.binary_exponent;
        known = true;
        break;
      }
    }
    if (!known) return refuse("unknown suffix \"" + suffix.substr(0, 16) + "\"; " + grammar);
  }

  BigUnsigned value;
  for (char digit : digits) value.multiply_add(10, static_cast<uint32_t>(digit - '0'));
  if (value.zero()) return 0;  // "0", "-0", "0.0Gi", "0e99"
  if (negative) return refuse("a size cannot be negative");

  for (int i = 0; i < binary_exponent; i += 10) value.multiply_add(1024, 0);
  long scale = exponent - static_cast<long>(fraction_digits);
  bool remainder = false;
  for (; scale > 0; --scale) {
    value.multiply_add(10, 0);
    if (!value.fits_64()) return refuse("more than 2^64 - 1 bytes");
  }
  for (; scale < 0 && !value.zero(); ++scale) remainder = value.divide(10) != 0 || remainder;
  // A value below one byte that is not zero rounds up to one, however small.
  if (!value.fits_64()) return refuse("more than 2^64 - 1 bytes");
  uint64_t bytes = value.value_64();
  if (remainder) {
    if (bytes == UINT64_MAX) return refuse("more than 2^64 - 1 bytes");
    ++bytes;
  }
  return bytes;
}

}  // namespace deckhand::storage
