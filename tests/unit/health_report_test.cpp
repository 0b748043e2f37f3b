// HealthReport::text(): the kube-apiserver style body /readyz and
// `deckhand plugins` show, line by line.
#include <gtest/gtest.h>

#include "daemon/health.hpp"

namespace deckhand {
namespace {

TEST(HealthReportText, AllOkListsEveryPluginAndPasses) {
  HealthReport report;
  report.checks.push_back({"dirstore", true, true, "ok"});
  report.checks.push_back({"cnet", false, true, "ok"});
  report.ready = true;
  report.degraded = false;
  EXPECT_EQ(report.text(),
            "[+]plugin dirstore ok\n"
            "[+]plugin cnet (optional) ok\n"
            "readyz check passed\n");
}

TEST(HealthReportText, FailingRequiredPluginFailsTheCheck) {
  HealthReport report;
  report.checks.push_back({"dirstore", true, false, "root /srv/rootfs: No such file or directory"});
  report.checks.push_back({"cnet", false, true, "ok"});
  report.ready = false;
  report.degraded = false;
  EXPECT_EQ(report.text(),
            "[-]plugin dirstore failed: root /srv/rootfs: No such file or directory\n"
            "[+]plugin cnet (optional) ok\n"
            "readyz check failed\n");
}

TEST(HealthReportText, FailingOptionalPluginIsDegradedButPasses) {
  HealthReport report;
  report.checks.push_back({"dirstore", true, true, "ok"});
  report.checks.push_back({"unhealthy", false, false, "backend unreachable"});
  report.ready = true;
  report.degraded = true;
  EXPECT_EQ(report.text(),
            "[+]plugin dirstore ok\n"
            "[-]plugin unhealthy (optional) failed: backend unreachable\n"
            "readyz check passed (degraded: an optional plugin is not working)\n");
}

TEST(HealthReportText, NotReadyWinsOverDegraded) {
  HealthReport report;
  report.checks.push_back({"a", true, false, "down"});
  report.checks.push_back({"b", false, false, "also down"});
  report.ready = false;
  report.degraded = true;
  EXPECT_EQ(report.text(),
            "[-]plugin a failed: down\n"
            "[-]plugin b (optional) failed: also down\n"
            "readyz check failed\n");
}

TEST(HealthReportText, NoPluginsIsJustTheVerdict) {
  HealthReport report;
  EXPECT_EQ(report.text(), "readyz check passed\n");
}

}  // namespace
}  // namespace deckhand
