// The command line shared by tern-loadgen (tools/loadgen/main.cc) and the Mosquitto driver
// (bench/mqtt_loadgen.cc): workload flags, the workload list, and the loop that runs each
// workload on a freshly started backend and prints its report.
//
// Thread safety: call from main only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tools/loadgen/backend.h"
#include "tools/loadgen/workloads.h"

namespace tern::loadgen {

// Consumes the workload flags (--seconds, --pairs, ...) and workload names from args; leaves
// the others in *rest (in order, flag values after their flag). "all" expands to every
// workload. Errors: kInvalidArgument naming the bad flag or value.
Status ParseWorkloadArgs(const std::vector<std::string>& args, WorkloadOptions* options,
                         std::vector<std::string>* workloads, std::vector<std::string>* rest);
// Usage text of the workload flags.
const char* WorkloadUsage();

// For each workload: Start, RunWorkload, PrintReport, Stop. Returns 0 when every workload ran
// and verified, 1 otherwise.
int RunWorkloads(Backend& backend, const std::vector<std::string>& workloads,
                 const WorkloadOptions& options);

}  // namespace tern::loadgen
