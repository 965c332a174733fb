#include "tools/loadgen/runner.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tools/loadgen/proc.h"

namespace tern::loadgen {
namespace {

bool ParseU32(const std::string& v, uint32_t lo, uint32_t* out) {
  char* end = nullptr;
  const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < lo || x > 10'000'000) return false;
  *out = static_cast<uint32_t>(x);
  return true;
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double l = 0;
  in >> l;
  return l;
}

}  // namespace

const char* WorkloadUsage() {
  return "workloads: pairs latency drain fanout idle churn durability | all\n"
         "  --seconds S        measured phase of pairs, latency, churn (5)\n"
         "  --pairs N          pairs, latency: sender/recipient pairs (50)\n"
         "  --window W         unacked sends per sender (16; drain uses >= 64)\n"
         "  --text-bytes B     text size (100)\n"
         "  --rate R           latency: total msgs/s (10000)\n"
         "  --recipients N     drain, durability: offline recipients (10)\n"
         "  --messages K       drain: queued messages (20000); durability: K/10\n"
         "  --members M --devices D --senders S --rounds R   fanout: group of M users x D devices,\n"
         "                     S of them send R group messages each (256, 2, 2, 100)\n"
         "  --connections C    idle (1000)\n"
         "  --clients N        churn (50)\n"
         "  --setup-threads T  registration/connect pool (16)\n";
}

Status ParseWorkloadArgs(const std::vector<std::string>& args, WorkloadOptions* o,
                         std::vector<std::string>* workloads, std::vector<std::string>* rest) {
  const std::vector<std::string>& names = WorkloadNames();
  for (size_t k = 0; k < args.size(); ++k) {
    const std::string& a = args[k];
    if (a == "all") {
      workloads->insert(workloads->end(), names.begin(), names.end());
      continue;
    }
    if (std::find(names.begin(), names.end(), a) != names.end()) {
      workloads->push_back(a);
      continue;
    }
    uint32_t* u32 = nullptr;
    uint32_t lo = 1;
    if (a == "--pairs") u32 = &o->pairs;
    else if (a == "--window") u32 = &o->window;
    else if (a == "--rate") u32 = &o->rate;
    else if (a == "--recipients") u32 = &o->recipients;
    else if (a == "--members") u32 = &o->members;
    else if (a == "--devices") u32 = &o->devices;
    else if (a == "--senders") u32 = &o->senders;
    else if (a == "--rounds") u32 = &o->rounds;
    else if (a == "--connections") u32 = &o->connections;
    else if (a == "--clients") u32 = &o->clients;
    else if (a == "--setup-threads") u32 = &o->setup_threads;
    const bool other = u32 == nullptr && a != "--seconds" && a != "--text-bytes" && a != "--messages";
    if (other) {
      rest->push_back(a);
      continue;
    }
    if (k + 1 >= args.size()) return Status(Code::kInvalidArgument, a + " needs a value");
    const std::string& v = args[++k];
    uint32_t x = 0;
    if (u32 != nullptr) {
      if (!ParseU32(v, lo, u32)) return Status(Code::kInvalidArgument, "bad value for " + a);
    } else if (a == "--seconds") {
      char* end = nullptr;
      o->seconds = std::strtod(v.c_str(), &end);
      if (*end != '\0' || !(o->seconds > 0)) return Status(Code::kInvalidArgument, "bad --seconds");
    } else if (a == "--text-bytes") {
      if (!ParseU32(v, 40, &x) || x > 65536) return Status(Code::kInvalidArgument, "--text-bytes: 40..65536");
      o->text_bytes = x;
    } else if (a == "--messages") {
      if (!ParseU32(v, 1, &x)) return Status(Code::kInvalidArgument, "bad --messages");
      o->messages = x;
    }
  }
  if (o->devices > 5) return Status(Code::kInvalidArgument, "--devices: at most 5");
  if (o->recipients > o->messages) return Status(Code::kInvalidArgument, "--messages < --recipients");
  return Status::Ok();
}

int RunWorkloads(Backend& b, const std::vector<std::string>& workloads, const WorkloadOptions& o) {
  RaiseFileLimit();
  bool all_ok = true;
  for (const std::string& w : workloads) {
    std::printf("\n-- %s on %s (load average %.2f, %ld cores)\n", w.c_str(), b.name().c_str(),
                LoadAverage(), ::sysconf(_SC_NPROCESSORS_ONLN));
    std::fflush(stdout);
    Report r;
    if (Status st = b.Start(); !st.ok()) {
      r.workload = w;
      r.backend = b.name();
      r.error = "start: " + st.ToString();
    } else {
      r = RunWorkload(w, b, o);
      r.notes.insert(r.notes.begin(), b.Describe());
      Status stopped = b.Stop();
      if (!stopped.ok() && r.error.empty()) r.error = "stop: " + stopped.ToString();
    }
    PrintReport(r);
    all_ok = all_ok && r.ran && r.error.empty() && r.verified;
  }
  return all_ok ? 0 : 1;
}

}  // namespace tern::loadgen
