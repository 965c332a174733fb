// tern-loadgen's fanout workload, run small: against a ternd spawned on port 0 (in process,
// through the workload library) and, when tern_mqtt_loadgen was built and a broker is
// installed, against Mosquitto (the same workload code behind bench/mqtt_backend.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/integration/process_util.h"
#include "tools/loadgen/tern_backend.h"
#include "tools/loadgen/workloads.h"

namespace tern::loadgen {
namespace {

WorkloadOptions SmallFanout() {
  WorkloadOptions o;
  o.members = 8;
  o.devices = 2;
  o.senders = 2;
  o.rounds = 3;
  o.setup_threads = 4;
  return o;
}

double FigureOf(const Report& r, const std::string& metric) {
  for (const Figure& f : r.figures) {
    if (f.metric == metric) return f.value;
  }
  return -1;
}

TEST(LoadgenFanout, SmallGroupDeliversEveryMessageOnceInOrderOnTern) {
  TernBackend::Options bo;
  bo.spawn_path = TERND_PATH;
  TernBackend backend(bo);
  ASSERT_TRUE(backend.Start().ok());
  const Report r = RunWorkload("fanout", backend, SmallFanout());
  EXPECT_TRUE(r.ran) << r.error;
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.verified) << r.verify_text;
  // 2 senders x 3 messages, each to 8 x 2 - 1 devices.
  EXPECT_EQ(FigureOf(r, "acked_msgs"), 2 * 3 * 15);
  EXPECT_EQ(FigureOf(r, "delivered_msgs"), 2 * 3 * 15);
  EXPECT_GT(FigureOf(r, "deliveries_per_s"), 0);
  EXPECT_TRUE(backend.Stop().ok());
}

TEST(LoadgenFanout, GroupOverTheServersMemberCapIsAnErrorNamingTheLimit) {
  TernBackend::Options bo;
  bo.spawn_path = TERND_PATH;
  bo.extra_args = {"--max-group-members=4"};
  TernBackend backend(bo);
  ASSERT_TRUE(backend.Start().ok());
  const Report r = RunWorkload("fanout", backend, SmallFanout());
  EXPECT_FALSE(r.ran);
  EXPECT_NE(r.error.find("max_group_members"), std::string::npos) << r.error;
  EXPECT_TRUE(backend.Stop().ok());
}

TEST(LoadgenFanout, SmallGroupDeliversEveryMessageOnceInOrderOnMosquitto) {
#ifndef TERN_MQTT_LOADGEN_PATH
  GTEST_SKIP() << "tern_mqtt_loadgen not built (no libmosquitto-dev)";
#else
  const std::string broker = "/usr/sbin/mosquitto";
  if (::access(broker.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << broker;
  const testing::ProcessResult p = testing::RunProcess(
      {TERN_MQTT_LOADGEN_PATH, "--mosquitto", broker, "--members", "8", "--devices", "2",
       "--senders", "2", "--rounds", "3", "--setup-threads", "4", "fanout"},
      60000);
  EXPECT_EQ(p.exit_code, 0) << p.out << p.err;
  EXPECT_NE(p.out.find("verified: all 90 acknowledged"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("\"verified\":true"), std::string::npos) << p.out;
#endif
}

}  // namespace
}  // namespace tern::loadgen
