// e2e_sent_latency: durable *sent*-ack latency and throughput of 1:1 messages on loopback.
//
// Workload, for each client count C (default 10, then 100):
//   * a fresh ternd on a temp data dir with the default config, i.e. durable: a SendAck leaves
//     only after the loop turn's LMDB transaction committed with fsync (group commit: all the
//     sends of one turn share one commit);
//   * C users register (RequestCode, then Verify with the code ternd appended to otp.log),
//     each from its own thread with its own Client (phones +1555100xxxx);
//   * client i sends to client (i+1) % C in a closed loop -- Send, then WaitForAck, so one
//     message is outstanding per client -- with a ~100-byte text, until --seconds (default 5)
//     have passed or it got --max-msgs acks (default 2000 per client);
//   * latency = Send call to the ok SendAck; throughput = ok acks / wall time of the send
//     phase (from the common start to the last client's last ack);
//   * then every client waits (bounded) until it holds every message its sender got acked and
//     checks exactly-once (no msg_id twice, none unexpected), chat order (chat_seq strictly
//     increasing and equal to the acked one) and the text.
//
// Output (stdout): per run "delivery verified" or what failed, then a table (clients,
// messages, msgs/s, p50/p99/max ms) and one JSON line per client count:
//   {"bench":"sent_latency","clients":10,"messages":N,"msgs_per_s":X,"p50_ms":..,"p99_ms":..,
//    "max_ms":..,"durable":true,"verified":true}
// Figures are printed, never asserted (CONVENTIONS rule 14). The exit code is 1 only for
// failures: setup, a refused or missing SendAck, a lost/duplicated/reordered delivery, or
// ternd not exiting 0 on SIGTERM; 2 for bad flags. The server's commit count is not reported:
// ternd does not expose its CoreStats.
//
// Usage: tern_e2e_sent_latency [--clients 10,100] [--seconds 5] [--max-msgs 2000]
//                              [--text-bytes 100]
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bench/e2e_util.h"
#include "tools/client/client.h"

namespace tern::bench {
namespace {

constexpr int kStartTimeoutMs = 10000;
constexpr int kStopTimeoutMs = 10000;
constexpr int kIoTimeoutMs = 5000;        // connect/handshake/write bound of each Client
constexpr int kAckTimeoutMs = 10000;      // one SendAck
constexpr int kDeliveryTimeoutMs = 20000; // all deliveries of one client, after sending
constexpr size_t kMaxErrorsShown = 10;

struct Flags {
  std::vector<int> clients = {10, 100};
  double seconds = 5.0;
  uint64_t max_msgs = 2000;  // per client
  size_t text_bytes = 100;
};

struct Acked {
  uint64_t n = 0;  // index of the message in its sender's loop (names its text)
  uint64_t msg_id = 0;
  uint64_t chat_seq = 0;
};

// What one client thread did. Written only by its thread; read by others after a barrier.
struct ClientRun {
  uint64_t user_id = 0;
  std::string error;           // first failure while registering or sending
  std::string delivery_error;  // what the delivery check found wrong
  std::vector<int64_t> latency_ns;
  std::vector<Acked> acked;    // ok SendAcks, in send order
  int64_t end_ns = 0;          // when the send loop ended
};

struct Shared {
  Shared(const Flags& f, int c, const BenchServer& s)
      : flags(f), clients(c), server(s), runs(static_cast<size_t>(c)), sync(c + 1) {}
  const Flags& flags;
  const int clients;
  const BenchServer& server;
  std::vector<ClientRun> runs;
  std::barrier<> sync;              // the C client threads + main
  std::atomic<bool> abort{false};   // set by main between the first two barriers
  int64_t deadline_ns = 0;          // written by main before the second barrier
};

std::string MakeText(int sender, uint64_t n, size_t bytes) {
  std::string t = "bench " + std::to_string(sender) + " #" + std::to_string(n) + " ";
  while (t.size() < bytes) t.push_back(static_cast<char>('a' + t.size() % 26));
  return t;  // longer than `bytes` only if the unique prefix does not fit
}

std::string Phone(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+1555100%04d", i);
  return buf;
}

Status Register(Shared& s, int i, tools::Client& client, uint64_t* user_id) {
  const std::string phone = Phone(i);
  Result<wire::CodeSent> sent = client.RequestCode(phone);
  if (!sent.ok()) return Status(sent.status().code(), "RequestCode: " + sent.status().message());
  // ternd appends the code to otp.log before it sends CodeSent, so it is there now.
  Result<std::string> code = s.server.CodeFor(phone);
  if (!code.ok()) return code.status();
  Result<wire::Welcome> w = client.Verify(phone, *code, "bench");
  if (!w.ok()) return Status(w.status().code(), "Verify: " + w.status().message());
  *user_id = w->user_id;
  return Status::Ok();
}

void SendLoop(Shared& s, int i, tools::Client& client) {
  ClientRun& me = s.runs[static_cast<size_t>(i)];
  const uint64_t peer = s.runs[static_cast<size_t>((i + 1) % s.clients)].user_id;
  me.latency_ns.reserve(static_cast<size_t>(std::min<uint64_t>(s.flags.max_msgs, 1 << 16)));
  for (uint64_t n = 0; n < s.flags.max_msgs && NowNs() < s.deadline_ns; ++n) {
    std::string text = MakeText(i, n, s.flags.text_bytes);
    const int64_t t0 = NowNs();
    Result<uint64_t> seq = client.Send(peer, std::move(text));
    if (!seq.ok()) {
      me.error = "Send: " + seq.status().ToString();
      return;
    }
    Result<wire::SendAck> ack = client.WaitForAck(*seq, kAckTimeoutMs);
    const int64_t t1 = NowNs();
    if (!ack.ok()) {
      me.error = "no SendAck for client_seq " + std::to_string(*seq) + ": " +
                 ack.status().ToString();
      return;
    }
    if (ack->status != Code::kOk) {
      me.error = "SendAck for client_seq " + std::to_string(*seq) + " refused: " +
                 CodeName(ack->status);
      return;
    }
    me.latency_ns.push_back(t1 - t0);
    me.acked.push_back({n, ack->msg_id, ack->chat_seq});
  }
}

// Runs after every sender finished (their `acked` lists are final).
std::string CheckDelivery(Shared& s, int i, tools::Client& client) {
  const int from = (i + s.clients - 1) % s.clients;
  const ClientRun& sender = s.runs[static_cast<size_t>(from)];
  const size_t expected = sender.acked.size();
  Status waited = client.WaitUntil([&] { return client.inbox().size() >= expected; },
                                   kDeliveryTimeoutMs, "deliveries");
  std::unordered_map<uint64_t, size_t> index;  // msg_id -> position in sender.acked
  for (size_t k = 0; k < expected; ++k) index.emplace(sender.acked[k].msg_id, k);
  std::unordered_set<uint64_t> seen;
  uint64_t last_chat_seq = 0;
  size_t duplicates = 0, unexpected = 0, reordered = 0, mismatched = 0;
  for (const wire::InboxItem& item : client.inbox()) {
    if (!seen.insert(item.msg_id).second) {
      ++duplicates;
      continue;
    }
    auto it = index.find(item.msg_id);
    if (it == index.end() || item.kind != wire::ItemKind::kMessage ||
        item.sender_user != sender.user_id) {
      ++unexpected;
      continue;
    }
    const Acked& a = sender.acked[it->second];
    if (item.chat_seq <= last_chat_seq) ++reordered;
    last_chat_seq = item.chat_seq;
    if (item.chat_seq != a.chat_seq || item.text != MakeText(from, a.n, s.flags.text_bytes)) {
      ++mismatched;
    }
  }
  size_t missing = 0;
  for (const Acked& a : sender.acked) missing += seen.count(a.msg_id) == 0 ? 1 : 0;
  if (waited.ok() && duplicates + unexpected + reordered + mismatched + missing == 0) return "";
  std::string why = "client " + std::to_string(i) + " (from client " + std::to_string(from) +
                    ", " + std::to_string(expected) + " acked): received " +
                    std::to_string(client.inbox().size()) + ", missing " +
                    std::to_string(missing) + ", duplicate " + std::to_string(duplicates) +
                    ", unexpected " + std::to_string(unexpected) + ", out of chat order " +
                    std::to_string(reordered) + ", wrong chat_seq/text " +
                    std::to_string(mismatched);
  if (!waited.ok()) why += " (" + waited.ToString() + ")";
  return why;
}

void ClientThread(Shared& s, int i) {
  ClientRun& me = s.runs[static_cast<size_t>(i)];
  tools::Client::Options o;
  o.host = "127.0.0.1";
  o.port = s.server.port();
  o.io_timeout_ms = kIoTimeoutMs;
  std::unique_ptr<tools::Client> client;
  if (auto c = tools::Client::Create(o); c.ok()) {
    client = std::move(c).value();
    if (Status st = Register(s, i, *client, &me.user_id); !st.ok()) me.error = st.ToString();
  } else {
    me.error = "Client::Create: " + c.status().ToString();
  }
  s.sync.arrive_and_wait();  // 1: registered (main decides whether to go on)
  s.sync.arrive_and_wait();  // 2: go
  if (!s.abort.load()) SendLoop(s, i, *client);
  me.end_ns = NowNs();
  s.sync.arrive_and_wait();  // 3: every sender is done: the acked lists are final
  if (!s.abort.load()) me.delivery_error = CheckDelivery(s, i, *client);
  if (client) client->Close();
}

struct Summary {
  int clients = 0;
  uint64_t messages = 0;
  double seconds = 0;
  double msgs_per_s = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  bool ok = false;
};

void PrintErrors(const char* what, const std::vector<std::string>& errors) {
  if (errors.empty()) return;
  std::printf("  %s: %zu client(s)\n", what, errors.size());
  for (size_t k = 0; k < errors.size() && k < kMaxErrorsShown; ++k) {
    std::printf("    %s\n", errors[k].c_str());
  }
  if (errors.size() > kMaxErrorsShown) {
    std::printf("    ... and %zu more\n", errors.size() - kMaxErrorsShown);
  }
}

Summary RunOnce(const Flags& flags, int clients) {
  Summary sum;
  sum.clients = clients;
  BenchServer server(TERND_PATH);
  if (Status st = server.Start(kStartTimeoutMs); !st.ok()) {
    std::printf("clients=%d: ternd did not start: %s\n%s\n", clients, st.ToString().c_str(),
                server.LogTail(4000).c_str());
    return sum;
  }
  Shared s(flags, clients, server);
  const int64_t reg_start = NowNs();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(clients));
  for (int i = 0; i < clients; ++i) threads.emplace_back(ClientThread, std::ref(s), i);

  s.sync.arrive_and_wait();  // 1: registered
  std::vector<std::string> reg_errors;
  for (int i = 0; i < clients; ++i) {
    const std::string& e = s.runs[static_cast<size_t>(i)].error;
    if (!e.empty()) reg_errors.push_back("client " + std::to_string(i) + ": " + e);
  }
  const double reg_ms = static_cast<double>(NowNs() - reg_start) / 1e6;
  s.abort.store(!reg_errors.empty());
  const int64_t start = NowNs();
  s.deadline_ns = start + static_cast<int64_t>(flags.seconds * 1e9);
  s.sync.arrive_and_wait();  // 2: go
  s.sync.arrive_and_wait();  // 3: sending done
  for (std::thread& t : threads) t.join();

  std::vector<int64_t> lat;
  int64_t end = start;
  std::vector<std::string> send_errors, delivery_errors;
  for (int i = 0; i < clients && reg_errors.empty(); ++i) {
    const ClientRun& r = s.runs[static_cast<size_t>(i)];
    lat.insert(lat.end(), r.latency_ns.begin(), r.latency_ns.end());
    end = std::max(end, r.end_ns);
    if (!r.error.empty()) send_errors.push_back("client " + std::to_string(i) + ": " + r.error);
    if (!r.delivery_error.empty()) delivery_errors.push_back(r.delivery_error);
  }
  std::sort(lat.begin(), lat.end());
  sum.messages = lat.size();
  sum.seconds = static_cast<double>(end - start) / 1e9;
  sum.msgs_per_s = sum.seconds > 0 ? static_cast<double>(sum.messages) / sum.seconds : 0;
  sum.p50_ms = static_cast<double>(Percentile(lat, 50)) / 1e6;
  sum.p99_ms = static_cast<double>(Percentile(lat, 99)) / 1e6;
  sum.max_ms = lat.empty() ? 0 : static_cast<double>(lat.back()) / 1e6;

  Result<int> rc = server.Stop(kStopTimeoutMs);
  const bool stopped = rc.ok() && *rc == 0;
  sum.ok = reg_errors.empty() && send_errors.empty() && delivery_errors.empty() && stopped;

  std::printf("clients=%d: registered in %.0f ms; %llu messages acked in %.2f s\n", clients,
              reg_ms, static_cast<unsigned long long>(sum.messages), sum.seconds);
  PrintErrors("registration failed", reg_errors);
  PrintErrors("sending failed", send_errors);
  if (reg_errors.empty()) {
    if (delivery_errors.empty()) {
      std::printf("clients=%d: delivery verified (every acked message received exactly once, "
                  "in chat order)\n", clients);
    } else {
      std::printf("clients=%d: delivery NOT verified\n", clients);
      PrintErrors("delivery check failed", delivery_errors);
    }
  }
  if (!stopped) {
    const std::string why = rc.ok() ? "exit code " + std::to_string(*rc) : rc.status().ToString();
    std::printf("clients=%d: ternd did not exit 0 on SIGTERM: %s\n", clients, why.c_str());
  }
  if (!sum.ok) std::printf("---- ternd log tail ----\n%s---- end ----\n", server.LogTail(4000).c_str());
  std::fflush(stdout);
  return sum;
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a != "--clients" && a != "--seconds" && a != "--max-msgs" && a != "--text-bytes") {
      if (a != "--help" && a != "-h") std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return false;
    }
    if (k + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", a.c_str());
      return false;
    }
    const char* v = argv[++k];
    char* end = nullptr;
    if (a == "--clients") {
      f->clients.clear();
      for (const char* p = v; *p != '\0';) {
        const long c = std::strtol(p, &end, 10);
        if (end == p || c < 2 || c > 9999 || (*end != ',' && *end != '\0')) {
          std::fprintf(stderr, "--clients: a comma-separated list of counts in [2, 9999]\n");
          return false;
        }
        f->clients.push_back(static_cast<int>(c));
        p = *end == ',' ? end + 1 : end;
      }
    } else if (a == "--seconds") {
      f->seconds = std::strtod(v, &end);
      if (*end != '\0' || !(f->seconds > 0)) return false;
    } else if (a == "--max-msgs") {
      f->max_msgs = std::strtoull(v, &end, 10);
      if (*end != '\0' || f->max_msgs == 0) return false;
    } else if (a == "--text-bytes") {
      f->text_bytes = std::strtoull(v, &end, 10);
      if (*end != '\0' || f->text_bytes == 0 || f->text_bytes > 65536) return false;
    }
  }
  return !f->clients.empty();
}

int Main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s [--clients 10,100] [--seconds 5] [--max-msgs 2000 (per client)] "
                 "[--text-bytes 100]\n",
                 argv[0]);
    return 2;
  }
  std::vector<Summary> results;
  for (int c : flags.clients) results.push_back(RunOnce(flags, c));

  std::printf("\nsent latency: durable SendAcks, 1:1 ring, one outstanding send per client, "
              "%zu-byte texts, loopback\n", flags.text_bytes);
  std::printf("%8s %10s %10s %9s %9s %9s\n", "clients", "messages", "msgs/s", "p50 ms", "p99 ms",
              "max ms");
  for (const Summary& r : results) {
    std::printf("%8d %10llu %10.1f %9.3f %9.3f %9.3f%s\n", r.clients,
                static_cast<unsigned long long>(r.messages), r.msgs_per_s, r.p50_ms, r.p99_ms,
                r.max_ms, r.ok ? "" : "   (FAILED)");
  }
  bool ok = true;
  for (const Summary& r : results) {
    std::printf("{\"bench\":\"sent_latency\",\"clients\":%d,\"messages\":%llu,\"msgs_per_s\":%.1f,"
                "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"durable\":true,"
                "\"verified\":%s}\n",
                r.clients, static_cast<unsigned long long>(r.messages), r.msgs_per_s, r.p50_ms,
                r.p99_ms, r.max_ms, r.ok ? "true" : "false");
    ok = ok && r.ok;
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) { return tern::bench::Main(argc, argv); }
