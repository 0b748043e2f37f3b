#include "pods/human_duration.hpp"

#include <algorithm>
#include <cstdint>

namespace deckhand::pods {

namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

std::string number(int64_t value, const char* unit) { return std::to_string(value) + unit; }

// The part of human_duration and short_human_duration both start with:
// Go's int(d.Seconds()) truncates towards zero, so -1.9 s is "0s".
bool almost_now(int64_t ns, std::string& out) {
  const int64_t seconds = ns / kSecond;
  if (seconds < -1) {
    out = "<invalid>";
    return true;
  }
  if (seconds < 0) {
    out = "0s";
    return true;
  }
  return false;
}

// Go's fmtFrac: the `precision` low digits of v as ".123" (trailing zeros
// and a zero fraction left out), prepended to `reversed`; returns v without
// them.
uint64_t prepend_fraction(std::string& reversed, uint64_t v, int precision) {
  bool print = false;
  for (int i = 0; i < precision; ++i) {
    const auto digit = static_cast<char>(v % 10);
    print = print || digit != 0;
    if (print) reversed.push_back(static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) reversed.push_back('.');
  return v;
}

void prepend_integer(std::string& reversed, uint64_t v) {
  do {
    reversed.push_back(static_cast<char>('0' + v % 10));
    v /= 10;
  } while (v > 0);
}

}  // namespace

// k8s.io/apimachinery/pkg/util/duration/duration.go, HumanDuration.
std::string human_duration(std::chrono::nanoseconds d) {
  const int64_t ns = d.count();
  std::string out;
  if (almost_now(ns, out)) return out;
  const int64_t seconds = ns / kSecond;
  if (seconds < 60 * 2) return number(seconds, "s");
  const int64_t minutes = ns / kMinute;
  if (minutes < 10) {
    const int64_t s = seconds % 60;
    return s == 0 ? number(minutes, "m") : number(minutes, "m") + number(s, "s");
  }
  if (minutes < 60 * 3) return number(minutes, "m");
  const int64_t hours = ns / kHour;
  if (hours < 8) {
    const int64_t m = minutes % 60;
    return m == 0 ? number(hours, "h") : number(hours, "h") + number(m, "m");
  }
  if (hours < 48) return number(hours, "h");
  if (hours < 24 * 8) {
    const int64_t h = hours % 24;
    return h == 0 ? number(hours / 24, "d") : number(hours / 24, "d") + number(h, "h");
  }
  if (hours < 24 * 365 * 2) return number(hours / 24, "d");
  if (hours < 24 * 365 * 8) {
    const int64_t dy = (hours / 24) % 365;
    return dy == 0 ? number(hours / 24 / 365, "y") : number(hours / 24 / 365, "y") + number(dy, "d");
  }
  return number(hours / 24 / 365, "y");
}

// k8s.io/apimachinery/pkg/util/duration/duration.go, ShortHumanDuration.
std::string short_human_duration(std::chrono::nanoseconds d) {
  const int64_t ns = d.count();
  std::string out;
  if (almost_now(ns, out)) return out;
  const int64_t seconds = ns / kSecond;
  if (seconds < 60) return number(seconds, "s");
  const int64_t minutes = ns / kMinute;
  if (minutes < 60) return number(minutes, "m");
  const int64_t hours = ns / kHour;
  if (hours < 24) return number(hours, "h");
  if (hours < 24 * 365) return number(hours / 24, "d");
  return number(hours / 24 / 365, "y");
}

// Go's src/time/time.go, Duration.String (format, fmtFrac, fmtInt), built
// back to front as Go does.
std::string go_duration(std::chrono::nanoseconds d) {
  const int64_t ns = d.count();
  const bool negative = ns < 0;
  // Two's-complement negation, as Go's `u = -u`, so the minimum is safe.
  uint64_t u = negative ? ~static_cast<uint64_t>(ns) + 1 : static_cast<uint64_t>(ns);
  std::string reversed;
  if (u < static_cast<uint64_t>(kSecond)) {
    // Below a second: the largest unit that keeps an integer part.
    int precision = 0;
    reversed.push_back('s');
    if (u == 0) return "0s";
    if (u < 1'000) {
      precision = 0;
      reversed.push_back('n');
    } else if (u < 1'000'000) {
      precision = 3;
      reversed += "\xB5\xC2";  // "µ" (U+00B5, UTF-8 C2 B5), reversed
    } else {
      precision = 6;
      reversed.push_back('m');
    }
    u = prepend_fraction(reversed, u, precision);
    prepend_integer(reversed, u);
  } else {
    reversed.push_back('s');
    u = prepend_fraction(reversed, u, 9);
    prepend_integer(reversed, u % 60);
    u /= 60;
    if (u > 0) {
      reversed.push_back('m');
      prepend_integer(reversed, u % 60);
      u /= 60;
      if (u > 0) {
        reversed.push_back('h');
        prepend_integer(reversed, u);
      }
    }
  }
  if (negative) reversed.push_back('-');
  std::reverse(reversed.begin(), reversed.end());
  return reversed;
}

}  // namespace deckhand::pods
