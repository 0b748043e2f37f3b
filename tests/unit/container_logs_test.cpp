// `kubectl logs` over CRI log text: partial lines joined per stream, the
// time prefix only with --timestamps, --tail counting whole lines, --since
// by each line's time.
#include <gtest/gtest.h>

#include "daemon/container_logs.hpp"
#include "pods/pod_status.hpp"

namespace deckhand {
namespace {

const char* const kLog =
    "2026-11-28T10:00:00.000000001Z stdout F one\n"
    "2026-11-28T10:00:01.000000000Z stdout P tw\n"
    "2026-11-28T10:00:01.500000000Z stderr F oops\n"
    "2026-11-28T10:00:02.000000000Z stdout F o\n"
    "2026-11-28T10:00:03.000000000Z stdout F three\n";

TEST(ContainerLogs, PartialLinesAreJoinedAndThePrefixDropped) {
  EXPECT_EQ(render_container_log(kLog, {}), "one\noops\ntwo\nthree\n");
}

TEST(ContainerLogs, TimestampsComeFirstAsWritten) {
  LogOptions options;
  options.timestamps = true;
  options.tail_lines = 1;
  EXPECT_EQ(render_container_log(kLog, options), "2026-11-28T10:00:03.000000000Z three\n");
}

TEST(ContainerLogs, TailCountsWholeLines) {
  LogOptions options;
  options.tail_lines = 2;
  EXPECT_EQ(render_container_log(kLog, options), "two\nthree\n");
  options.tail_lines = 0;
  EXPECT_EQ(render_container_log(kLog, options), "");
  options.tail_lines = 99;
  EXPECT_EQ(render_container_log(kLog, options), "one\noops\ntwo\nthree\n");
}

TEST(ContainerLogs, SinceKeepsLinesFromThatTime) {
  LogOptions options;
  options.since = pods::parse_time("2026-11-28T10:00:00.5Z");
  EXPECT_EQ(render_container_log(kLog, options), "oops\ntwo\nthree\n");
}

TEST(ContainerLogs, AMissingFileIsEmpty) { EXPECT_EQ(read_container_log("/nonexistent/deckhand/0.log", {}), ""); }

}  // namespace
}  // namespace deckhand
