// kubectl's ages and Go's duration text: upstream's own test tables
// (k8s.io/apimachinery/pkg/util/duration/duration_test.go; Go's
// time/time_test.go durationTests).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pods/human_duration.hpp"

namespace deckhand::pods {
namespace {

using namespace std::chrono_literals;
using Case = std::pair<std::chrono::nanoseconds, std::string>;

constexpr auto kDay = 24h;
constexpr auto kYear = 365 * kDay;

TEST(HumanDuration, UpstreamCases) {
  const std::vector<Case> cases = {
      {1s, "1s"},
      {70s, "70s"},
      {190s, "3m10s"},
      {70min, "70m"},
      {47h, "47h"},
      {49h, "2d1h"},
      {(8 * 24 + 2) * 1h, "8d"},
      {367 * kDay, "367d"},
      {(365 * 2 * 24 + 25) * 1h, "2y1d"},
      {(365 * 8 * 24 + 2) * 1h, "8y"},
  };
  for (const auto& [d, want] : cases) EXPECT_EQ(human_duration(d), want) << d.count();
}

TEST(HumanDuration, UpstreamBoundaries) {
  const std::vector<Case> cases = {
      {-2s, "<invalid>"},
      {-2s + 1ns, "0s"},
      {0s, "0s"},
      {1s - 1ms, "0s"},
      {2min - 1ms, "119s"},
      {2min, "2m"},
      {2min + 1s, "2m1s"},
      {10min - 1ms, "9m59s"},
      {10min, "10m"},
      {10min + 1s, "10m"},
      {3h - 1ms, "179m"},
      {3h, "3h"},
      {3h + 1min, "3h1m"},
      {8h - 1ms, "7h59m"},
      {8h, "8h"},
      {8h + 59min, "8h"},
      {2 * kDay - 1ms, "47h"},
      {2 * kDay, "2d"},
      {2 * kDay + 1h, "2d1h"},
      {8 * kDay - 1ms, "7d23h"},
      {8 * kDay, "8d"},
      {8 * kDay + 23h, "8d"},
      {2 * kYear - 1ms, "729d"},
      {2 * kYear, "2y"},
      {2 * kYear + 23h, "2y"},
      {2 * kYear + 23h + 59min, "2y"},
      {2 * kYear + kDay - 1ms, "2y"},
      {2 * kYear + kDay, "2y1d"},
      {3 * kYear, "3y"},
      {4 * kYear, "4y"},
      {5 * kYear, "5y"},
      {6 * kYear, "6y"},
      {7 * kYear, "7y"},
      {8 * kYear - 1ms, "7y364d"},
      {8 * kYear, "8y"},
      {8 * kYear + 364 * kDay, "8y"},
      {9 * kYear, "9y"},
  };
  for (const auto& [d, want] : cases) EXPECT_EQ(human_duration(d), want) << d.count();
}

TEST(HumanDuration, ShortUpstreamBoundaries) {
  const std::vector<Case> cases = {
      {-2s, "<invalid>"},
      {-2s + 1ns, "0s"},
      {0s, "0s"},
      {1s - 1ms, "0s"},
      {1s, "1s"},
      {2s - 1ms, "1s"},
      {1min - 1ms, "59s"},
      {1min, "1m"},
      {2min - 1ms, "1m"},
      {1h - 1ms, "59m"},
      {1h, "1h"},
      {2h - 1ms, "1h"},
      {kDay - 1ms, "23h"},
      {kDay, "1d"},
      {2 * kDay - 1ms, "1d"},
      {kYear - 1ms, "364d"},
      {kYear, "1y"},
      {2 * kYear - 1ms, "1y"},
      {2 * kYear, "2y"},
  };
  for (const auto& [d, want] : cases) EXPECT_EQ(short_human_duration(d), want) << d.count();
}

TEST(HumanDuration, GoDurationString) {
  const std::vector<Case> cases = {
      {0ns, "0s"},
      {1ns, "1ns"},
      {1100ns, "1.1\xC2\xB5s"},
      {2200us, "2.2ms"},
      {3300ms, "3.3s"},
      {4min + 5s, "4m5s"},
      {4min + 5001ms, "4m5.001s"},
      {5h + 6min + 7001ms, "5h6m7.001s"},
      {8min + 1ns, "8m0.000000001s"},
      {std::chrono::nanoseconds(INT64_MAX), "2562047h47m16.854775807s"},
      {std::chrono::nanoseconds(INT64_MIN), "-2562047h47m16.854775808s"},
      {-1s, "-1s"},
      {10s, "10s"},
      {300s, "5m0s"},
      {1h, "1h0m0s"},
      {830ms, "830ms"},
  };
  for (const auto& [d, want] : cases) EXPECT_EQ(go_duration(d), want) << d.count();
}

}  // namespace
}  // namespace deckhand::pods
