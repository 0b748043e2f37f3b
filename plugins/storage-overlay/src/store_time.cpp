#include "store_time.hpp"

#include <cstdio>

namespace deckhand::storage {

std::string format_rfc3339(const timespec& time) {
  tm utc{};
  gmtime_r(&time.tv_sec, &utc);
  // %04d rather than strftime's %Y, which does not pad years below 1000.
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long>(time.tv_nsec));
  return text;
}

std::string rfc3339_now() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return format_rfc3339(now);
}

}  // namespace deckhand::storage
