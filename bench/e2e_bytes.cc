// e2e_bytes — the byte budget of one delivered message (make bench-bytes).
//
// Workload: a generated 1:1 conversation (tools/corpus ChatCorpus, seed 20240601, default 1000
// lines in bursts of 1-4 per side; texts of 1-500 bytes in Latin, Cyrillic, CJK, Arabic
// scripts, emoji, links, media references, group events; a different seed than the one the
// dictionary was trained on) played line by line through a real ternd on loopback by two
// clients (the client SDK). Each line: the sender's Send, the *sent* ack (SendAck), the
// Deliver to the recipient and the recipient's cumulative InboxAck. App-layer bytes are the
// frames as they crossed the TCP connections, counted by each client's wire::Session per
// message type (handshakes excluded), so they are the real server's bytes.
//
// Tern runs (each with fresh users on the same server):
//   plain        no compression offered
//   zstd         zstd without a dictionary (dict id 1)
//   dict-v1      zstd with tern-v1, as a client released before tern-v2 (the baseline for v2)
//   dict         zstd with the newest trained dictionary (tern-v2): the default client
//   dict+ride    dict, and the recipient holds its ack until its own next Send (the ack rides
//                in Send.ack_inbox_seq) or until the other side's burst is over
//
// Peers, computed from the same fields of the same messages (message id, sender, chat,
// timestamp, text), byte-exact per the specifications:
//   mqtt_json    MQTT 3.1.1, QoS 1 both hops: PUBLISH (fixed header, remaining length, topic
//                "u/<recipient id>", packet id, payload) + PUBACK (4 bytes) from the publisher
//                to the broker and again from the broker to the subscriber; JSON payload
//   mqtt_binary  the same with a compact binary payload (protobuf-style tags and varints)
//   xmpp         RFC 6120 <message> stanzas with a body, XEP-0184 receipt request and
//                <received/> receipt (both hops), XEP-0359 stanza-id and XEP-0203 delay stamp
//                on the delivered copy, XEP-0198 <r/> after each stanza and <a h=''/> answers
//
// Also the floor of the frame format (FloorBytes): what a message would cost at the measured
// frames per message if only the text were sent.
//
// Output: a table on stderr-free stdout, then one JSON line with tern_bytes_per_msg (the dict
// run), tern_plain/zstd/ride/dict_v1_bytes_per_msg, the per-direction and per-frame split,
// frames per message, the floors, and mqtt_json_bytes_per_msg, mqtt_binary_bytes_per_msg,
// xmpp_bytes_per_msg and the ratios.
//
//   tern_e2e_bytes [--messages N] [--seed S]
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/e2e_util.h"
#include "tools/client/client.h"
#include "tools/corpus/chat_corpus.h"
#include "wire/compress.h"
#include "wire/frame.h"
#include "wire/messages.h"

namespace tern::bench {
namespace {

constexpr int kStartTimeoutMs = 10000;
constexpr int kWaitMs = 15000;

// One delivered message, as the peers' encodings need it.
struct Delivered {
  uint64_t msg_id = 0, sender = 0, recipient = 0, ts = 0, chat_seq = 0;
  std::string text;
};

struct TernRun {
  std::string name;
  double up = 0, down = 0;                          // per message
  double send = 0, sent_ack = 0, deliver = 0, inbox_ack = 0, other = 0;
  uint64_t compressed_frames = 0, frames = 0;
  // Frames per delivered message, by type, counted in both directions.
  double f_send = 0, f_sent_ack = 0, f_deliver = 0, f_inbox_ack = 0, f_other = 0;
};

Status Register(BenchServer& server, tools::Client& c, const std::string& phone) {
  Result<wire::CodeSent> sent = c.RequestCode(phone);
  if (!sent.ok()) return sent.status();
  Result<std::string> code = server.CodeFor(phone);
  if (!code.ok()) return code.status();
  Result<wire::Welcome> w = c.Verify(phone, *code, "bench");
  return w.ok() ? Status::Ok() : w.status();
}

Status PollBoth(tools::Client& a, tools::Client& b, const std::function<bool()>& done,
                const char* what) {
  const uint64_t deadline = tools::SteadyNowMs() + kWaitMs;
  while (!done()) {
    if (tools::SteadyNowMs() >= deadline) return Status(Code::kTimeout, what);
    Status sa = a.Poll(0);
    if (!sa.ok()) return sa;
    Status sb = b.Poll(1);
    if (!sb.ok()) return sb;
  }
  return Status::Ok();
}

size_t Idx(const wire::Message& m) { return m.index(); }

// Plays `lines` between two fresh users; fills `delivered` (first run only) and the run's bytes.
Status PlayTern(BenchServer& server, const std::string& name, std::vector<uint32_t> dicts,
                bool ride, int user_base, const std::vector<tools::ChatCorpus::Line>& lines,
                std::vector<Delivered>* delivered, TernRun* run) {
  run->name = name;
  tools::Client::Options o;
  o.port = server.port();
  o.io_timeout_ms = kWaitMs;
  o.core.dict_ids = std::move(dicts);
  o.core.auto_ack = !ride;
  auto ca = tools::Client::Create(o);
  auto cb = tools::Client::Create(o);
  if (!ca.ok() || !cb.ok()) return Status(Code::kInternal, "Client::Create");
  tools::Client* c[2] = {ca->get(), cb->get()};
  char phone[32];
  for (int i = 0; i < 2; ++i) {
    std::snprintf(phone, sizeof phone, "+1555%07d", user_base + i);
    TERN_RETURN_IF_ERROR(Register(server, *c[i], phone));
  }
  const uint64_t id[2] = {c[0]->state().user_id, c[1]->state().user_id};
  // Handshake traffic is not part of the per-message budget: start counting from here.
  wire::Session::TrafficByType in0[2], out0[2];
  for (int i = 0; i < 2; ++i) {
    in0[i] = c[i]->session()->traffic_in();
    out0[i] = c[i]->session()->traffic_out();
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    const int s = lines[i].from, r = 1 - s;
    Result<uint64_t> seq = c[s]->Send(id[r], lines[i].text);
    if (!seq.ok()) return seq.status();
    const size_t want = c[r]->inbox().size() + 1;
    TERN_RETURN_IF_ERROR(PollBoth(*c[0], *c[1], [&] {
      return c[s]->core().ack_for(*seq) != nullptr && c[r]->inbox().size() >= want;
    }, "ack and delivery"));
    if (c[s]->core().ack_for(*seq)->status != Code::kOk) return Status(Code::kInternal, "refused");
    // ride: the held ack goes out in the recipient's next Send; the last one alone.
    if (ride && i + 1 == lines.size()) TERN_RETURN_IF_ERROR(c[r]->AckInbox());
    if (delivered != nullptr) {
      const wire::InboxItem& it = c[r]->inbox().back();
      delivered->push_back(Delivered{it.msg_id, it.sender_user, id[r], it.server_ts_ms,
                                     it.chat_seq, it.text});
    }
  }
  // Every ack has reached the server before the counters are read.
  for (tools::Client* x : c) TERN_RETURN_IF_ERROR(x->RoundTrip(kWaitMs));
  const double n = static_cast<double>(lines.size());
  for (int i = 0; i < 2; ++i) {
    const auto& in = c[i]->session()->traffic_in();
    const auto& out = c[i]->session()->traffic_out();
    for (size_t t = 0; t < in.size(); ++t) {
      const double bin = static_cast<double>(in[t].wire_bytes - in0[i][t].wire_bytes) / n;
      const double bout = static_cast<double>(out[t].wire_bytes - out0[i][t].wire_bytes) / n;
      run->down += bin;
      run->up += bout;
      run->frames += in[t].frames - in0[i][t].frames + out[t].frames - out0[i][t].frames;
      run->compressed_frames += in[t].compressed - in0[i][t].compressed + out[t].compressed -
                                out0[i][t].compressed;
      const double f = static_cast<double>(in[t].frames - in0[i][t].frames + out[t].frames -
                                           out0[i][t].frames) / n;
      if (t == Idx(wire::Send{})) run->send += bout, run->f_send += f;
      else if (t == Idx(wire::SendAck{})) run->sent_ack += bin, run->f_sent_ack += f;
      else if (t == Idx(wire::Deliver{})) run->deliver += bin, run->f_deliver += f;
      else if (t == Idx(wire::InboxAck{})) run->inbox_ack += bout, run->f_inbox_ack += f;
      else run->other += bin + bout, run->f_other += f;
    }
  }
  for (tools::Client* x : c) x->Close();
  return Status::Ok();
}

// The floor of this frame format: the bytes per message if every id, seq and timestamp cost
// nothing. Frames that carry only the text (a Send, a one-item Deliver), compressed one at a
// time with `dict` as the real ones are, plus the smallest frame the format has (an InboxAck
// of seq 1) for each other frame per message (`frames` as measured). Computed offline from the
// same texts; no server involved.
double FloorBytes(const std::vector<tools::ChatCorpus::Line>& lines, uint32_t dict, double frames) {
  auto cost = [dict](const wire::Message& m) {
    const std::string body = wire::EncodeMessage(m);
    const std::optional<std::string> z = wire::CompressBody(body, dict);
    const size_t n = z ? z->size() : body.size();
    std::string header;
    wire::PutVarint(header, n + 1);
    return static_cast<double>(header.size() + 1 + n);
  };
  double text_frames = 0;
  for (const auto& l : lines) {
    wire::Send s;
    s.text = l.text;
    wire::InboxItem it;
    it.text = l.text;
    text_frames += cost(s) + cost(wire::Deliver{{it}});
  }
  return text_frames / static_cast<double>(lines.size()) + (frames - 2) * cost(wire::InboxAck{1});
}

// ---- MQTT 3.1.1 (OASIS, 2014), §2.2 fixed header, §3.3 PUBLISH, §3.4 PUBACK ----

size_t RemainingLengthBytes(size_t n) {  // §2.2.3: 7 bits per byte, up to 4 bytes
  size_t b = 1;
  while (n >= 128) n /= 128, ++b;
  return b;
}
size_t MqttPublish(const std::string& topic, size_t payload) {
  const size_t rest = 2 + topic.size() + 2 + payload;  // topic length + topic + packet id
  return 1 + RemainingLengthBytes(rest) + rest;
}
constexpr size_t kMqttPuback = 4;  // fixed header 0x40, remaining length 2, packet id

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\', out += static_cast<char>(ch);
    else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else out += static_cast<char>(ch);  // UTF-8 travels as is (RFC 8259 §8.1)
  }
  return out;
}
std::string JsonPayload(const Delivered& d) {
  return "{\"id\":" + std::to_string(d.msg_id) + ",\"from\":" + std::to_string(d.sender) +
         ",\"chat\":" + std::to_string(d.recipient) + ",\"seq\":" + std::to_string(d.chat_seq) +
         ",\"ts\":" + std::to_string(d.ts) + ",\"text\":\"" + JsonEscape(d.text) + "\"}";
}
size_t Varint(uint64_t v) {
  size_t n = 1;
  while (v >= 128) v >>= 7, ++n;
  return n;
}
size_t BinaryPayload(const Delivered& d) {  // one tag byte per field, protobuf wire format
  return 1 + Varint(d.msg_id) + 1 + Varint(d.sender) + 1 + Varint(d.recipient) + 1 +
         Varint(d.chat_seq) + 1 + Varint(d.ts) + 1 + Varint(d.text.size()) + d.text.size();
}

// ---- XMPP (RFC 6120/6121, XEP-0184, XEP-0198, XEP-0203, XEP-0359) ----

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      default: out += ch;
    }
  }
  return out;
}
std::string Jid(uint64_t user) {  // phone-number localparts, as big deployments use
  return std::to_string(15550000000ull + user % 10000000) + "@example.com";
}
std::string Stamp(uint64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}
struct XmppBytes {
  size_t send = 0, sent_ack = 0, deliver = 0, inbox_ack = 0, receipts = 0;
};
XmppBytes Xmpp(const Delivered& d, uint64_t h_sender, uint64_t h_recipient) {
  const std::string id = "m" + std::to_string(d.msg_id % 100000000000ull);
  const std::string r = "<r xmlns='urn:xmpp:sm:3'/>";
  XmppBytes x;
  x.send = ("<message to='" + Jid(d.recipient) + "' id='" + id + "' type='chat'><body>" +
            XmlEscape(d.text) + "</body><request xmlns='urn:xmpp:receipts'/></message>").size() +
           r.size();
  x.sent_ack = ("<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(h_sender) + "'/>").size();
  x.deliver = ("<message from='" + Jid(d.sender) + "/phone' to='" + Jid(d.recipient) +
               "/phone' id='" + id + "' type='chat'><body>" + XmlEscape(d.text) +
               "</body><request xmlns='urn:xmpp:receipts'/><stanza-id xmlns='urn:xmpp:sid:0' "
               "id='" + std::to_string(d.msg_id) + "' by='" + Jid(d.recipient) +
               "'/><delay xmlns='urn:xmpp:delay' from='example.com' stamp='" + Stamp(d.ts) +
               "'/></message>").size() +
              r.size();
  x.inbox_ack = ("<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(h_recipient) + "'/>").size();
  // The delivery receipt: recipient -> server, then server -> sender (from added).
  const std::string received = "<received xmlns='urn:xmpp:receipts' id='" + id + "'/>";
  x.receipts = ("<message to='" + Jid(d.sender) + "/phone' id='r" + id + "'>" + received +
                "</message>").size() +
               ("<message from='" + Jid(d.recipient) + "/phone' to='" + Jid(d.sender) +
                "/phone' id='r" + id + "'>" + received + "</message>").size();
  return x;
}

int Main(int argc, char** argv) {
  size_t n = 1000;
  uint64_t seed = 20240601;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--messages") && i + 1 < argc) n = std::strtoull(argv[++i], nullptr, 0);
    else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 0);
    else {
      std::fprintf(stderr, "usage: tern_e2e_bytes [--messages N] [--seed S]\n");
      return 2;
    }
  }
  tools::ChatCorpus corpus(seed);
  const auto lines = corpus.Conversation(n);
  double text_bytes = 0;
  for (const auto& l : lines) text_bytes += static_cast<double>(l.text.size());
  text_bytes /= static_cast<double>(n);

  BenchServer server(TERND_PATH);
  if (Status st = server.Start(kStartTimeoutMs); !st.ok()) {
    std::fprintf(stderr, "ternd: %s\n%s", st.ToString().c_str(), server.LogTail(2000).c_str());
    return 1;
  }
  std::vector<Delivered> delivered;
  struct Mode {
    const char* name;
    std::vector<uint32_t> dicts;
    bool ride;
  };
  const std::vector<Mode> modes = {
      {"plain", {}, false},
      {"zstd", {wire::kDictPlainZstd}, false},
      {"dict-v1", {1001, wire::kDictPlainZstd}, false},  // a client released with tern-v1 only
      {"dict", wire::DefaultDictOffer(), false},
      {"dict+ride", wire::DefaultDictOffer(), true},
  };
  std::vector<TernRun> runs;
  int base = 1000;
  for (const Mode& m : modes) {
    TernRun r;
    Status st = PlayTern(server, m.name, m.dicts, m.ride, base, lines,
                         delivered.empty() ? &delivered : nullptr, &r);
    base += 10;
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n%s", m.name, st.ToString().c_str(), server.LogTail(2000).c_str());
      return 1;
    }
    runs.push_back(r);
  }
  (void)server.Stop(kStartTimeoutMs);

  double mj = 0, mb = 0;
  XmppBytes xs{};
  std::map<uint64_t, uint64_t> h;  // XEP-0198 h counters per user (stanzas handled)
  for (const Delivered& d : delivered) {
    const std::string topic = "u/" + std::to_string(d.recipient);
    mj += 2.0 * static_cast<double>(MqttPublish(topic, JsonPayload(d).size()) + kMqttPuback);
    mb += 2.0 * static_cast<double>(MqttPublish(topic, BinaryPayload(d)) + kMqttPuback);
    XmppBytes x = Xmpp(d, ++h[d.sender], ++h[d.recipient]);
    xs.send += x.send, xs.sent_ack += x.sent_ack, xs.deliver += x.deliver;
    xs.inbox_ack += x.inbox_ack, xs.receipts += x.receipts;
  }
  const double k = static_cast<double>(delivered.size());
  mj /= k, mb /= k;
  const double xmpp = static_cast<double>(xs.send + xs.sent_ack + xs.deliver + xs.inbox_ack + xs.receipts) / k;

  std::printf("byte budget per delivered message: %zu messages, mean text %.1f bytes (seed %llu)\n\n",
              n, text_bytes, static_cast<unsigned long long>(seed));
  std::printf("%-12s %8s %8s %8s | %7s %8s %8s %9s %6s\n", "encoding", "total", "up", "down",
              "send", "sent_ack", "deliver", "inbox_ack", "other");
  for (const TernRun& r : runs)
    std::printf("tern %-7s %8.1f %8.1f %8.1f | %7.1f %8.1f %8.1f %9.1f %6.1f\n", r.name.c_str(),
                r.up + r.down, r.up, r.down, r.send, r.sent_ack, r.deliver, r.inbox_ack, r.other);
  for (const TernRun& r : runs)
    std::printf("  frames/msg %-9s %8.2f %8s %8s | %7.2f %8.2f %8.2f %9.2f %6.2f\n", r.name.c_str(),
                r.f_send + r.f_sent_ack + r.f_deliver + r.f_inbox_ack + r.f_other, "", "",
                r.f_send, r.f_sent_ack, r.f_deliver, r.f_inbox_ack, r.f_other);
  std::printf("%-12s %8.1f %8.1f %8.1f |\n", "mqtt+json", mj, mj / 2, mj / 2);
  std::printf("%-12s %8.1f %8.1f %8.1f |\n", "mqtt+binary", mb, mb / 2, mb / 2);
  std::printf("%-12s %8.1f %8s %8s | %7.1f %8.1f %8.1f %9.1f  receipts %.1f\n", "xmpp", xmpp, "",
              "", xs.send / k, xs.sent_ack / k, xs.deliver / k, xs.inbox_ack / k, xs.receipts / k);
  const TernRun& v1 = runs[2];
  const TernRun& dict = runs[3];
  const TernRun& ride = runs[4];
  const double tern = dict.up + dict.down;
  const double dict_frames =
      dict.f_send + dict.f_sent_ack + dict.f_deliver + dict.f_inbox_ack + dict.f_other;
  const double ride_frames =
      ride.f_send + ride.f_sent_ack + ride.f_deliver + ride.f_inbox_ack + ride.f_other;
  const uint32_t newest = wire::DefaultDictOffer().front();
  const double floor = FloorBytes(lines, newest, dict_frames);
  const double ride_floor = FloorBytes(lines, newest, ride_frames);
  std::printf("\ntern (dict) vs mqtt+json %.3f (goal <= 0.333), vs mqtt+binary %.3f (goal <= 0.667), "
              "vs xmpp %.3f (goal <= 0.125)\n", tern / mj, tern / mb, tern / xmpp);
  std::printf("floor of the format (frames holding only the text, every id/seq/timestamp free): "
              "%.1f at %.2f frames/msg (%.3f of mqtt+json, %.3f of mqtt+binary, %.3f of xmpp); "
              "%.1f at %.2f with riding acks\n\n", floor, dict_frames, floor / mj, floor / mb,
              floor / xmpp, ride_floor, ride_frames);
  std::printf("{\"bench\":\"e2e_bytes\",\"messages\":%zu,\"seed\":%llu,\"mean_text_bytes\":%.1f,"
              "\"tern_bytes_per_msg\":%.1f,\"tern_up_bytes_per_msg\":%.1f,"
              "\"tern_down_bytes_per_msg\":%.1f,\"tern_send_bytes\":%.1f,"
              "\"tern_sent_ack_bytes\":%.1f,\"tern_deliver_bytes\":%.1f,"
              "\"tern_inbox_ack_bytes\":%.1f,\"tern_plain_bytes_per_msg\":%.1f,"
              "\"tern_zstd_bytes_per_msg\":%.1f,\"tern_ride_bytes_per_msg\":%.1f,"
              "\"mqtt_json_bytes_per_msg\":%.1f,\"mqtt_binary_bytes_per_msg\":%.1f,"
              "\"xmpp_bytes_per_msg\":%.1f,\"ratio_mqtt_json\":%.3f,\"ratio_mqtt_binary\":%.3f,"
              "\"ratio_xmpp\":%.3f,\"tern_frames_per_msg\":%.2f,\"tern_ride_frames_per_msg\":%.2f,"
              "\"tern_dict_v1_bytes_per_msg\":%.1f,\"tern_floor_bytes_per_msg\":%.1f,"
              "\"tern_ride_floor_bytes_per_msg\":%.1f}\n",
              n, static_cast<unsigned long long>(seed), text_bytes, tern, dict.up, dict.down,
              dict.send, dict.sent_ack, dict.deliver, dict.inbox_ack,
              runs[0].up + runs[0].down, runs[1].up + runs[1].down, ride.up + ride.down, mj, mb,
              xmpp, tern / mj, tern / mb, tern / xmpp,
              dict_frames, ride_frames, v1.up + v1.down, floor, ride_floor);
  return 0;
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) { return tern::bench::Main(argc, argv); }
