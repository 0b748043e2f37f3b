// The runtime's small state helpers: RFC 3339 time stamps (every CRI log line
// and OCI state carries one) and container ids.
#include <gtest/gtest.h>
#include <time.h>

#include <cstdio>
#include <regex>
#include <string>

#include "container_state.hpp"

namespace deckhand::runtime {
namespace {

// What glibc's gmtime_r makes of the same instant (the year zero-padded to
// four digits, as RFC 3339 wants; strftime's %Y does not pad).
std::string reference(const timespec& time) {
  tm utc{};
  gmtime_r(&time.tv_sec, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, time.tv_nsec);
  return text;
}

TEST(RuntimeStateTest, Rfc3339MatchesGmtimeAcrossLeapYearsCenturiesAndTheEpoch) {
  const time_t instants[] = {0,           -1,          59,          951782400 /* 2000-02-29 */,
                             951868799,   4107542400 /* 2100-03-01 */, 1709251199 /* 2024-02-29T23:59:59 */,
                             1795822370,  253402300799 /* 9999-12-31T23:59:59 */, -62135596800 /* 0001-01-01 */};
  for (const time_t seconds : instants) {
    for (const long nanoseconds : {0L, 1L, 999999999L, 123456789L}) {
      const timespec time{seconds, nanoseconds};
      EXPECT_EQ(format_rfc3339(time), reference(time)) << seconds << "." << nanoseconds;
    }
  }
  // Every day of 1999-2001 (a leap century year in the middle).
  for (time_t seconds = 915148800; seconds < 1009843200; seconds += 86400 - 1) {
    const timespec time{seconds, 5};
    ASSERT_EQ(format_rfc3339(time), reference(time)) << seconds;
  }
}

TEST(RuntimeStateTest, Rfc3339NowHasNanosecondsAndZ) {
  EXPECT_TRUE(std::regex_match(rfc3339_now(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)")));
}

TEST(RuntimeStateTest, ContainerIds) {
  EXPECT_TRUE(valid_container_id("a"));
  EXPECT_TRUE(valid_container_id("pod-1_web.0"));
  EXPECT_TRUE(valid_container_id(std::string(128, 'x')));
  EXPECT_FALSE(valid_container_id(std::string(129, 'x')));
  EXPECT_FALSE(valid_container_id(""));
  EXPECT_FALSE(valid_container_id("-a"));
  EXPECT_FALSE(valid_container_id("../a"));
  EXPECT_FALSE(valid_container_id("a/b"));
  EXPECT_FALSE(valid_container_id(".hidden"));
}

}  // namespace
}  // namespace deckhand::runtime
