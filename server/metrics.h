// Metrics: ternd's counters in the Prometheus text exposition format (version 0.0.4), served on
// the admin port (server/uv_admin.h, GET /metrics). Rendering is a pure function of a snapshot
// taken on the loop thread, so it is tested without sockets (tests/unit/server_metrics_test.cc).
//
// Series (all names start with tern_):
//   connections (gauge), connections_accepted_total, connections_rejected_total
//   frames_received_total / frames_sent_total, frame_bytes_received_total / _sent_total
//     (plaintext frames, headers included), socket_bytes_received_total / _sent_total (TLS too)
//   messages_accepted_total, items_delivered_total
//   queued_items (gauge: every device queue together; a series per device would be one per
//     phone, far too many for Prometheus: `tern-admin inspect` lists the deepest queues)
//   commits_total, commit_failures_total, commit_duration_seconds (histogram)
//   errors_total{code} (Error frames sent, by wire code name)
//   tls_handshakes_total{result="ok"|"failed"} (failed includes closed before completion)
//   ready (gauge: 1 when /readyz would answer 200)
//
// Thread safety: plain functions and values.
#pragma once

#include <cstdint>
#include <string>

#include "server/core.h"

namespace tern::server {

// Transport-level counters, kept by the libuv layer (server/uv_server.h).
struct UvStats {
  uint64_t accepted = 0;
  uint64_t rejected = 0;           // closed at accept (limits)
  uint64_t socket_bytes_in = 0;    // as read from sockets (TLS records included)
  uint64_t socket_bytes_out = 0;   // handed to the socket (written or queued)
  uint64_t tls_handshakes_ok = 0;
  uint64_t tls_handshakes_failed = 0;  // TLS error, or closed before the handshake completed
};


struct MetricsSnapshot {
  CoreStats core;
  TrafficTotals traffic;
  UvStats uv;
  uint64_t connections = 0;
  uint64_t queued_items = 0;
  bool ready = false;
};

std::string RenderMetrics(const MetricsSnapshot& m);

}  // namespace tern::server
