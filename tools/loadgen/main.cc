// tern-loadgen: named end-to-end workloads against a real ternd, through the client SDK.
//
//   tern-loadgen --spawn build/server/ternd [--data DIR] [--ternd-arg ARG]... WORKLOAD... | all
//   tern-loadgen --server HOST:PORT --otp-file FILE [--server-pid PID] WORKLOAD...
//
// --spawn starts a fresh ternd per workload (durable defaults, plain TCP, on DIR or a temp
// dir); --server targets a running plain-TCP ternd, registering users with the one-time codes
// its development sink appends to FILE (<data>/otp.log). Workload flags: see --help.
//
// Workloads (each prints a table and one JSON line; * marks the headline figure):
//   pairs       N sender->recipient pairs (--pairs 50), each sender keeping --window 16
//               unacknowledged sends, for --seconds 5. Every *sent* ack means the message was
//               fsync'd. * delivered msgs/s; send->delivery p50/p99/p99.9/max; CPU of server
//               and loadgen.
//   latency     the same pairs paced to a fixed total rate (--rate 10000 msgs/s).
//               * p99 send->delivery (ms), with p50/p99.9/max and the achieved rate.
//   drain       --messages 20000 queued for --recipients 10 offline devices, then all reconnect
//               at once. * drain msgs/s; drain time; server RSS growth per queued message.
//   fanout      one group of --members 256 users with --devices 2 devices each; --senders 2
//               of the members each send --rounds 100 group messages (--window unacked). Each
//               message reaches every member device but the sending one (511 by default):
//               each must get every acked message once, in per-sender order. Tern: CreateGroup
//               and SendToGroup; a member's first inbox ack also moves its delivered mark, a
//               receipt ternd queues for the senders' devices (PROTOCOL.md §3.11). Mosquitto:
//               topic g/<id>, QoS 1, persistent sessions. * deliveries/s; send->delivery
//               p50/p99; server CPU.
//   idle        --connections 1000 registered devices connect (resume) and stay idle.
//               * server RSS per connection (VmRSS after minus before, /proc/PID/status); the
//               open file limit is raised to its hard limit. Then one message to each.
//   churn       --clients 50 loop for --seconds: connect+resume, send one message and wait
//               for its ack, disconnect. * cycles/s; connect p50/p99.
//   durability  a tenth of --messages sent to offline recipients; kill -9 right after the last
//               ack; restart on the same data; reconnect. * % of acked messages delivered.
//               (--spawn only.)
// Every workload checks that each acknowledged message reached every device of its recipient
// (user or group) exactly once and in order (texts carry "lg <from> <n> <t_ns>") and prints "verified: ..."
// or what went wrong. CPU figures are % of one core over the measured phase (/proc/PID/stat);
// loadgen and server share the machine. Exit code: 0 all ran and verified, 1 otherwise, 2 usage.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/loadgen/runner.h"
#include "tools/loadgen/tern_backend.h"

namespace {

int Usage(const char* argv0, const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "%s\n", why.c_str());
  std::fprintf(stderr,
               "usage: %s (--spawn TERND [--data DIR] [--ternd-arg ARG]... | --server HOST:PORT "
               "--otp-file FILE [--server-pid PID]) [flags] WORKLOAD...\n%s",
               argv0, tern::loadgen::WorkloadUsage());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tern::loadgen;
  std::vector<std::string> args(argv + 1, argv + argc), rest, workloads;
  WorkloadOptions options;
  if (tern::Status st = ParseWorkloadArgs(args, &options, &workloads, &rest); !st.ok()) {
    return Usage(argv[0], st.message());
  }
  TernBackend::Options bo;
  for (size_t k = 0; k < rest.size(); ++k) {
    const std::string& a = rest[k];
    if (a == "--help" || a == "-h") return Usage(argv[0], "");
    if (k + 1 >= rest.size()) return Usage(argv[0], "unknown flag or missing value: " + a);
    const std::string& v = rest[++k];
    if (a == "--spawn") bo.spawn_path = v;
    else if (a == "--data") bo.data_dir = v;
    else if (a == "--ternd-arg") bo.extra_args.push_back(v);
    else if (a == "--server") bo.server = v;
    else if (a == "--otp-file") bo.otp_file = v;
    else if (a == "--server-pid") bo.server_pid = static_cast<pid_t>(std::atoi(v.c_str()));
    else return Usage(argv[0], "unknown flag " + a);
  }
  if (bo.spawn_path.empty() == bo.server.empty()) return Usage(argv[0], "--spawn or --server");
  if (workloads.empty()) return Usage(argv[0], "no workload");
  TernBackend backend(bo);
  return RunWorkloads(backend, workloads, options);
}
