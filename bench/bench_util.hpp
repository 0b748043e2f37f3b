// Small helpers for the deckhand benchmarks: clocks, order statistics, a
// signal-safe interrupt flag and a minimal JSON writer. Standard library only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

// Set by the SIGINT/SIGTERM/SIGHUP handler (to the signal number); every wait
// loop checks it so the benchmark can stop its agent and clean up.
inline volatile std::sig_atomic_t g_interrupted = 0;

inline double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

inline double ms_since(Clock::time_point a) { return ms_between(a, Clock::now()); }

// One nanosleep. Unlike std::this_thread::sleep_for it returns early when a
// signal arrives, so an interrupt is noticed at once.
inline void nap(std::chrono::nanoseconds d) {
  if (d.count() <= 0) return;
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(d.count() / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(d.count() % 1'000'000'000);
  nanosleep(&ts, nullptr);
}

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Percentile of sorted data, linear interpolation between closest ranks
// (the "R-7" definition: p50 of {1,2,3,4} is 2.5).
inline double percentile_sorted(const std::vector<double>& s, double p) {
  if (s.empty()) return kNaN;
  if (s.size() == 1) return s.front();
  const double rank = p / 100.0 * static_cast<double>(s.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const std::size_t hi = std::min(lo + 1, s.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return s[lo] + (s[hi] - s[lo]) * frac;
}

struct Summary {
  std::size_t n = 0;
  double min = kNaN;
  double max = kNaN;
  double median = kNaN;
  double p90 = kNaN;
  double p99 = kNaN;
  double mean = kNaN;  // in the JSON only; the machine is noisy, medians lead
};

inline Summary summarize(std::vector<double> v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  s.median = percentile_sorted(v, 50);
  s.p90 = percentile_sorted(v, 90);
  s.p99 = percentile_sorted(v, 99);
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

// printf-style formatting into a std::string; NaN prints as "-".
inline std::string fmt_num(double v, int decimals) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A minimal streaming JSON writer: objects, arrays, strings, numbers, bools,
// null. Non-finite numbers are written as null.
class Json {
 public:
  Json& begin_object() { sep(); out_ += '{'; first_.push_back(true); return *this; }
  Json& end_object() { out_ += '}'; first_.pop_back(); return *this; }
  Json& begin_array() { sep(); out_ += '['; first_.push_back(true); return *this; }
  Json& end_array() { out_ += ']'; first_.pop_back(); return *this; }
  Json& key(std::string_view k) {
    sep();
    quote(k);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  Json& str(std::string_view v) { sep(); quote(v); return *this; }
  Json& num(double v, int decimals = 3) {
    sep();
    if (!std::isfinite(v)) {
      out_ += "null";
    } else {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
      out_ += buf;
    }
    return *this;
  }
  Json& integer(long long v) { sep(); out_ += std::to_string(v); return *this; }
  Json& boolean(bool v) { sep(); out_ += v ? "true" : "false"; return *this; }
  Json& null() { sep(); out_ += "null"; return *this; }
  const std::string& text() const { return out_; }

 private:
  void sep() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_ += ',';
      first_.back() = false;
    }
  }
  void quote(std::string_view s) {
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace bench
