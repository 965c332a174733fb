#include "server/metrics.h"

#include <cstdio>

namespace tern::server {
namespace {

void Family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void Sample(std::string& out, const std::string& name, uint64_t v) {
  out += name;
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

void One(std::string& out, const char* name, const char* type, const char* help, uint64_t v) {
  Family(out, name, type, help);
  Sample(out, name, v);
}

std::string Seconds(uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(us) / 1e6);
  return buf;
}

}  // namespace

std::string RenderMetrics(const MetricsSnapshot& m) {
  std::string out;
  out.reserve(4096);
  One(out, "tern_connections", "gauge", "Open client connections.", m.connections);
  One(out, "tern_connections_accepted_total", "counter", "Client connections accepted.", m.uv.accepted);
  One(out, "tern_connections_rejected_total", "counter",
      "Connections closed at accept (max_connections, max_connections_per_ip, accept_rate).", m.uv.rejected);
  One(out, "tern_frames_received_total", "counter", "Frames received from clients.", m.traffic.frames_in);
  One(out, "tern_frames_sent_total", "counter", "Frames sent to clients.", m.traffic.frames_out);
  One(out, "tern_frame_bytes_received_total", "counter", "Frame bytes received (plaintext, headers included).",
      m.traffic.bytes_in);
  One(out, "tern_frame_bytes_sent_total", "counter", "Frame bytes sent (plaintext, headers included).",
      m.traffic.bytes_out);
  One(out, "tern_socket_bytes_received_total", "counter", "Bytes read from client sockets (TLS records included).",
      m.uv.socket_bytes_in);
  One(out, "tern_socket_bytes_sent_total", "counter", "Bytes written to client sockets (TLS records included).",
      m.uv.socket_bytes_out);
  One(out, "tern_messages_accepted_total", "counter", "Messages stored and acknowledged to their senders.",
      m.core.messages_accepted);
  One(out, "tern_items_delivered_total", "counter",
      "Inbox items (messages, group events, receipts, notices) written to devices.", m.core.items_delivered);
  One(out, "tern_queued_items", "gauge", "Items waiting in all device queues together (not per device).",
      m.queued_items);
  One(out, "tern_commits_total", "counter", "Store commits (one per loop turn that wrote).", m.core.commits);
  One(out, "tern_commit_failures_total", "counter", "Turns whose store writes did not commit.",
      m.core.commit_failures);

  Family(out, "tern_commit_duration_seconds", "histogram", "Store commit latency (fsync included).");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < CoreStats::kCommitBoundsUs.size(); ++i) {
    cumulative += m.core.commit_buckets[i];
    Sample(out, "tern_commit_duration_seconds_bucket{le=\"" + Seconds(CoreStats::kCommitBoundsUs[i]) + "\"}",
           cumulative);
  }
  cumulative += m.core.commit_buckets.back();
  Sample(out, "tern_commit_duration_seconds_bucket{le=\"+Inf\"}", cumulative);
  out += "tern_commit_duration_seconds_sum " + Seconds(m.core.commit_us_sum) + "\n";
  Sample(out, "tern_commit_duration_seconds_count", cumulative);

  Family(out, "tern_errors_total", "counter", "Error frames sent to clients, by code.");
  for (const auto& [code, n] : m.core.errors)
    Sample(out, std::string("tern_errors_total{code=\"") + CodeName(code) + "\"}", n);
  Family(out, "tern_tls_handshakes_total", "counter",
         "TLS handshakes by result (failed: a TLS error or closed before completing).");
  Sample(out, "tern_tls_handshakes_total{result=\"ok\"}", m.uv.tls_handshakes_ok);
  Sample(out, "tern_tls_handshakes_total{result=\"failed\"}", m.uv.tls_handshakes_failed);
  One(out, "tern_ready", "gauge", "1 when ternd is ready (store open, last commit ok, not stopping).",
      m.ready ? 1 : 0);
  return out;
}

}  // namespace tern::server
