// tern_mqtt_loadgen: tern-loadgen's workloads (tools/loadgen/main.cc describes them) against
// Mosquitto, through bench/mqtt_backend.h. Same flags, same checks, same table and JSON lines
// (with "backend":"mosquitto"); make bench-peers runs it alternately with tern-loadgen.
//
//   tern_mqtt_loadgen [--mosquitto /usr/sbin/mosquitto | --server HOST:PORT [--server-pid PID]]
//                     [workload flags] WORKLOAD... | all
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/mqtt_backend.h"
#include "tools/loadgen/runner.h"

int main(int argc, char** argv) {
  using namespace tern;
  std::vector<std::string> args(argv + 1, argv + argc), rest, workloads;
  loadgen::WorkloadOptions options;
  auto usage = [&](const std::string& why) {
    if (!why.empty()) std::fprintf(stderr, "%s\n", why.c_str());
    std::fprintf(stderr, "usage: %s [--mosquitto PATH | --server HOST:PORT [--server-pid PID]] "
                 "[flags] WORKLOAD...\n%s", argv[0], loadgen::WorkloadUsage());
    return 2;
  };
  if (Status st = loadgen::ParseWorkloadArgs(args, &options, &workloads, &rest); !st.ok()) {
    return usage(st.message());
  }
  bench::MqttBackend::Options bo;
  for (size_t k = 0; k < rest.size(); ++k) {
    const std::string& a = rest[k];
    if (a == "--help" || a == "-h") return usage("");
    if (k + 1 >= rest.size()) return usage("unknown flag or missing value: " + a);
    const std::string& v = rest[++k];
    if (a == "--mosquitto") bo.mosquitto_path = v;
    else if (a == "--server") { bo.server = v; bo.mosquitto_path.clear(); }
    else if (a == "--server-pid") bo.server_pid = static_cast<pid_t>(std::atoi(v.c_str()));
    else return usage("unknown flag " + a);
  }
  if (workloads.empty()) return usage("no workload");
  bench::MqttBackend backend(bo);
  return loadgen::RunWorkloads(backend, workloads, options);
}
