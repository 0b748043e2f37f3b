// Kubernetes quantities, parsed as k8s.io/apimachinery/pkg/api/resource's
// ParseQuantity scans them, and rounded as Quantity.Value() and MilliValue()
// round: up, away from zero ("-1m" has the value -1, as in Kubernetes).
//
// The arithmetic is exact and integer-only: the number is kept as its
// significant decimal digits and the position of the decimal point, so "0.1"
// is exactly 100 millis and "1.5Gi" exactly 1610612736. Every step is linear
// in the length of the text, and no loop runs over an exponent, so hostile
// input ("1e-999999999", a megabyte of digits) costs no more than reading it.
//
// Where deckhand differs from Kubernetes, on purpose:
//   - a number needs at least one digit: Kubernetes takes "", "-", "." and
//     "Gi" alone as zero (its scanner never checks), deckhand refuses them;
//   - a value beyond int64 is an error: Kubernetes caps binary quantities at
//     2^63-1 and truncates exponents to int32 ("1e4294967296" is 1 there).
#include "pods/quantity.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>

namespace deckhand::pods {
namespace {

constexpr std::string_view kFormatWrong =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr std::string_view kSuffixWrong = "unable to parse quantity's suffix";

constexpr uint64_t kMaxMagnitude = std::numeric_limits<int64_t>::max();

// Beyond this, a decimal exponent decides alone: with fewer than 2^49 digits
// in the text, 10^(2^50) overflows and 10^-(2^50) rounds up to 1.
constexpr int64_t kExponentClamp = int64_t{1} << 50;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The letters ParseQuantity's scanner takes as the start of a suffix.
bool is_suffix_letter(char c) { return std::string_view("eEinumkKMGTP").find(c) != std::string_view::npos; }

size_t skip_digits(std::string_view text, size_t pos) {
  while (pos < text.size() && is_digit(text[pos])) ++pos;
  return pos;
}

// The text as parseQuantityString splits it: sign, digits, '.', digits,
// then a suffix of letters, an optional sign and digits.
struct Parts {
  bool negative = false;
  std::string_view integer;
  std::string_view fraction;
  std::string_view suffix;
};

Parts split(std::string_view text) {
  Parts parts;
  size_t pos = 0;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) parts.negative = text[pos++] == '-';
  const size_t integer_start = pos;
  pos = skip_digits(text, pos);
  parts.integer = text.substr(integer_start, pos - integer_start);
  if (pos < text.size() && text[pos] == '.') {
    const size_t fraction_start = ++pos;
    pos = skip_digits(text, pos);
    parts.fraction = text.substr(fraction_start, pos - fraction_start);
  }
  if (parts.integer.empty() && parts.fraction.empty()) throw QuantityError(std::string(kFormatWrong));
  const size_t suffix_start = pos;
  while (pos < text.size() && is_suffix_letter(text[pos])) ++pos;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
  pos = skip_digits(text, pos);
  if (pos != text.size()) throw QuantityError(std::string(kFormatWrong));
  parts.suffix = text.substr(suffix_start);
  return parts;
}

// What a suffix multiplies by: 10^decimal x 2^binary.
struct Scale {
  int64_t decimal = 0;
  int binary = 0;
};

// strconv.ParseInt(text, 10, 64), which Kubernetes uses for the exponent of
// "e3", "E-2", "e+5": a sign, then at least one digit, within int64.
std::optional<int64_t> parse_go_int64(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  const uint64_t limit = negative ? kMaxMagnitude + 1 : kMaxMagnitude;
  uint64_t magnitude = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (limit - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
  }
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

// The suffix table of apimachinery's suffix.go, then the exponent form.
Scale interpret(std::string_view suffix) {
  struct Entry {
    std::string_view suffix;
    Scale scale;
  };
  static constexpr Entry kTable[] = {
      {"", {0, 0}},    {"n", {-9, 0}},  {"u", {-6, 0}},  {"m", {-3, 0}},  {"k", {3, 0}},
      {"M", {6, 0}},   {"G", {9, 0}},   {"T", {12, 0}},  {"P", {15, 0}},  {"E", {18, 0}},
      {"Ki", {0, 10}}, {"Mi", {0, 20}}, {"Gi", {0, 30}}, {"Ti", {0, 40}}, {"Pi", {0, 50}},
      {"Ei", {0, 60}},
  };
  for (const Entry& entry : kTable) {
    if (entry.suffix == suffix) return entry.scale;
  }
  if (suffix.size() > 1 && (suffix.front() == 'e' || suffix.front() == 'E')) {
    if (const std::optional<int64_t> exponent = parse_go_int64(suffix.substr(1))) {
      return Scale{std::clamp(*exponent, -kExponentClamp, kExponentClamp), 0};
    }
  }
  throw QuantityError(std::string(kSuffixWrong));
}

// A non-zero magnitude as 0.d1d2...dn x 10^point, d1 and dn non-zero.
// "0.0015" is digits "15" and point -2; zero has no digits.
struct Significand {
  std::string digits;
  int64_t point = 0;
};

Significand significand(std::string_view integer, std::string_view fraction) {
  std::string digits;
  digits.reserve(integer.size() + fraction.size());
  digits.append(integer).append(fraction);
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return {};
  const size_t last = digits.find_last_not_of('0');
  return {digits.substr(first, last - first + 1),
          static_cast<int64_t>(integer.size()) - static_cast<int64_t>(first)};
}

// 0.(leading_zeros zeros)(digits) x 2^binary, as its integer part and
// whether anything is left after the point. Multiplies digit by digit from
// the right: the carry stays below 2^binary, so each step fits a uint64
// (9 x 2^60 + 2^60 < 2^64).
struct FractionPart {
  uint64_t whole = 0;
  bool inexact = false;
};

FractionPart scale_fraction(std::string_view digits, int64_t leading_zeros, int binary) {
  if (digits.empty()) return {};
  if (binary == 0) return {0, true};  // the last digit is not zero
  FractionPart part;
  uint64_t carry = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    const uint64_t product = (static_cast<uint64_t>(*it - '0') << binary) + carry;
    part.inexact = part.inexact || product % 10 != 0;
    carry = product / 10;
  }
  // Each leading zero divides the carry by ten: it is gone after 20 of them.
  for (int64_t i = 0; i < leading_zeros && carry != 0; ++i) {
    part.inexact = part.inexact || carry % 10 != 0;
    carry /= 10;
  }
  part.whole = carry;
  return part;
}

// |value| x 10^extra_decimal rounded up, or nullopt beyond int64.
std::optional<uint64_t> rounded_magnitude(const Significand& number, Scale scale, int extra_decimal) {
  if (number.digits.empty()) return 0;
  // Digits before the point once scaled. d1 is not zero, so the scaled
  // value is at least 10^(point-1): past 19 digits it cannot fit an int64.
  const int64_t point = number.point + scale.decimal + extra_decimal;
  if (point > 19) return std::nullopt;
  const std::string_view digits = number.digits;
  const size_t whole_digits = point > 0 ? std::min(static_cast<size_t>(point), digits.size()) : 0;
  uint64_t whole = 0;  // below 10^19, which fits a uint64
  for (size_t i = 0; i < whole_digits; ++i) whole = whole * 10 + static_cast<uint64_t>(digits[i] - '0');
  for (auto i = static_cast<int64_t>(digits.size()); i < point; ++i) whole *= 10;
  if (whole > (kMaxMagnitude >> scale.binary)) return std::nullopt;
  whole <<= scale.binary;
  const FractionPart fraction = scale_fraction(digits.substr(whole_digits), point < 0 ? -point : 0, scale.binary);
  whole += fraction.whole + (fraction.inexact ? 1 : 0);  // at most 2^63 + 2^60: no wrap
  if (whole > kMaxMagnitude) return std::nullopt;
  return whole;
}

// The text for a message, quoted, cut short and with control bytes escaped.
std::string quoted(std::string_view text) {
  constexpr size_t kShown = 64;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string result = "\"";
  for (char c : text.substr(0, kShown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '"' || c == '\\') {
      result += "\\x";
      result += kHex[byte >> 4];
      result += kHex[byte & 0xf];
    } else {
      result += c;
    }
  }
  if (text.size() > kShown) result += "...";
  return result + "\"";
}

int64_t with_sign(uint64_t magnitude, bool negative) {
  const auto value = static_cast<int64_t>(magnitude);  // at most int64 max
  return negative ? -value : value;
}

}  // namespace

Quantity Quantity::parse(std::string_view text) {
  const Parts parts = split(text);
  const Scale scale = interpret(parts.suffix);
  const Significand number = significand(parts.integer, parts.fraction);
  const std::optional<uint64_t> value = rounded_magnitude(number, scale, 0);
  if (!value) {
    throw QuantityError("quantity " + quoted(text) + " is too large: deckhand holds quantities of at most " +
                        std::to_string(kMaxMagnitude) + " in magnitude");
  }
  const std::optional<uint64_t> milli = rounded_magnitude(number, scale, 3);
  Quantity quantity;
  quantity.value_ = with_sign(*value, parts.negative);
  quantity.milli_fits_ = milli.has_value();
  quantity.milli_ = milli ? with_sign(*milli, parts.negative) : 0;
  quantity.text_ = std::string(text);
  return quantity;
}

int64_t Quantity::milli_value() const {
  if (!milli_fits_) {
    throw QuantityError("quantity " + quoted(text_) +
                        " is too large to count in thousandths: at most 9223372036854775.807 fits an int64 of millis");
  }
  return milli_;
}

}  // namespace deckhand::pods
