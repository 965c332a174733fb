// tern-loadgen's named workloads, written once against Backend/Endpoint
// (tools/loadgen/backend.h) so Tern and Mosquitto run exactly the same code and checks. The
// workloads are described at the top of tools/loadgen/main.cc and in README.md.
//
// Every workload that moves messages checks, per recipient device and per sender, that the
// texts arrive with n = 0, 1, 2, ... (no duplicate, no gap, no reordering) and that every
// acknowledged message arrived; the Report says what it found.
//
// Thread safety: RunWorkload owns the backend while it runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/loadgen/backend.h"

namespace tern::loadgen {

struct WorkloadOptions {
  double seconds = 5;          // pairs, latency, churn: measured phase
  uint32_t pairs = 50;         // pairs, latency: sender/recipient pairs
  uint32_t window = 16;        // unacknowledged sends per sender (pairs, drain, fanout)
  size_t text_bytes = 100;     // text size (the MakeText header is part of it)
  uint32_t rate = 10000;       // latency: total msgs/s over all senders
  uint32_t recipients = 10;    // drain, durability: offline recipients (one sender each)
  uint64_t messages = 20000;   // drain: total queued messages; durability: a tenth of it
  uint32_t members = 256;      // fanout: group size (users, senders included)
  uint32_t devices = 2;        // fanout: devices per member
  uint32_t senders = 2;        // fanout: members that send (<= members)
  uint32_t rounds = 100;       // fanout: group messages per sender (100: ~1 s measured)
  uint32_t connections = 1000; // idle
  uint32_t clients = 50;       // churn
  uint32_t setup_threads = 16; // registration and connection pool
};

struct Figure {
  std::string metric;  // snake_case, with its unit: msgs_per_s, p99_ms, rss_per_conn_bytes
  double value = 0;
  bool higher_is_better = true;
  bool headline = false;  // compared with the peer in make bench-peers
};

struct Report {
  std::string workload;
  std::string backend;
  std::string describe;         // what ran, one line
  std::vector<Figure> figures;  // in print order
  bool ran = false;             // false: setup failed (see error)
  bool verified = false;        // every acked message delivered once, in order
  std::string verify_text;      // what the check found, one line
  std::string error;            // setup or IO failure
  std::vector<std::string> notes;

  void Add(std::string metric, double value, bool higher_is_better, bool headline = false) {
    figures.push_back({std::move(metric), value, higher_is_better, headline});
  }
};

// The workload names, in the order `all` runs them.
const std::vector<std::string>& WorkloadNames();
// Runs one workload on a started backend (and leaves it started). Unknown name: error report.
Report RunWorkload(const std::string& name, Backend& backend, const WorkloadOptions& options);
// A human table on stdout, then one JSON line:
//   {"workload":..,"backend":..,"ok":..,"verified":..,"verify":"..","figures":{"msgs_per_s":..},
//    "better":{"msgs_per_s":"higher"},"headline":["msgs_per_s"],"notes":[..],"error":".."}
void PrintReport(const Report& report);

}  // namespace tern::loadgen
