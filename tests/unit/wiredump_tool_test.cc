// tern-wiredump: TCP reassembly and frame decoding (tools/wiredump/dump_core.h), and the
// binary on a real loopback capture (tests/data/wiredump/session.pcap: tcpdump -i lo of a
// tern CLI session against ternd --plain-tcp on port 17811, dictionary tern-v1), on a capture
// written here with shuffled and retransmitted segments, and on corrupted inputs.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "tools/wiredump/dump_core.h"
#include "wire/compress.h"
#include "wire/frame.h"
#include "wire/messages.h"

namespace tern::tools::wiredump {
namespace {

struct DumpRun {
  int rc = -1;
  std::vector<std::string> lines;
};

DumpRun Dump(const std::string& args, const std::string& stdin_text = "") {
  std::string cmd = std::string(TERN_WIREDUMP_PATH) + " " + args;
  std::string in_path;
  if (!stdin_text.empty()) {
    in_path = ::testing::TempDir() + "/wiredump_stdin.txt";
    std::ofstream(in_path) << stdin_text;
    cmd += " < " + in_path;
  }
  DumpRun r;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return r;
  char buf[1 << 16];
  while (std::fgets(buf, sizeof buf, p)) {
    std::string l(buf);
    if (!l.empty() && l.back() == '\n') l.pop_back();
    r.lines.push_back(l);
  }
  int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

size_t Count(const std::vector<std::string>& lines, const std::string& needle) {
  size_t n = 0;
  for (const auto& l : lines) n += l.find(needle) != std::string::npos;
  return n;
}

std::string Frame(const wire::Message& m, uint32_t dict = 0) {
  std::string body = wire::EncodeMessage(m);
  if (dict != 0) {
    if (auto z = wire::CompressBody(body, dict)) return wire::EncodeFrame(wire::kFlagCompressed, *z);
  }
  return wire::EncodeFrame(0, body);
}

// A client->server and server->client exchange with a negotiated dictionary.
void Exchange(std::string* up, std::string* down) {
  wire::Resume r{1, 77, 1, "token"};
  r.dict_ids = wire::DefaultDictOffer();
  *up = Frame(r);
  wire::Welcome w{77, 1, "", 5, false, 0, 270000, 1, 262144, 1024};
  w.dict_id = 1001;
  *down = Frame(w);
  for (uint64_t i = 1; i <= 40; ++i) {
    *up += Frame(wire::Send{i, 88, "message number " + std::to_string(i) + ", привет 👋"}, 1001);
    *down += Frame(wire::SendAck{i, Code::kOk, 1000 + i, i, 1700000000000 + i}, 1001);
  }
}

// ---- pcap writing (classic pcap, Ethernet, IPv4, TCP) ----
void Put16(std::string& s, uint16_t v) { s += static_cast<char>(v >> 8), s += static_cast<char>(v); }
void Put32(std::string& s, uint32_t v) { Put16(s, v >> 16), Put16(s, static_cast<uint16_t>(v)); }
void Le32(std::string& s, uint32_t v) { for (int i = 0; i < 4; ++i) s += static_cast<char>(v >> (8 * i)); }

std::string Packet(bool up, uint32_t seq, uint8_t flags, const std::string& payload) {
  std::string p(12, '\0');  // MACs
  Put16(p, 0x0800);
  std::string ip;
  ip += '\x45', ip += '\0';
  Put16(ip, static_cast<uint16_t>(20 + 20 + payload.size()));
  Put32(ip, 0), ip += '\x40', ip += '\x06', Put16(ip, 0);
  Put32(ip, up ? 0x7f000002 : 0x7f000001), Put32(ip, up ? 0x7f000001 : 0x7f000002);
  std::string tcp;
  Put16(tcp, up ? 40000 : 7011), Put16(tcp, up ? 7011 : 40000);
  Put32(tcp, seq), Put32(tcp, 0);
  tcp += '\x50', tcp += static_cast<char>(flags);
  Put16(tcp, 65535), Put32(tcp, 0);
  return p + ip + tcp + payload;
}

// The same TCP segment over IPv6 (Ethernet type 0x86DD), after `ext`: extension headers whose
// first byte is left for the next-header chain (filled here), starting with `first_next`.
std::string Packet6(bool up, uint32_t seq, uint8_t flags, const std::string& payload,
                    std::vector<std::pair<uint8_t, std::string>> ext) {
  std::string p(12, '\0');
  Put16(p, 0x86DD);
  std::string tcp;
  Put16(tcp, up ? 40000 : 7011), Put16(tcp, up ? 7011 : 40000);
  Put32(tcp, seq), Put32(tcp, 0);
  tcp += '\x50', tcp += static_cast<char>(flags);
  Put16(tcp, 65535), Put32(tcp, 0);
  std::string chain;
  for (size_t i = 0; i < ext.size(); ++i) {
    std::string h = ext[i].second;
    h[0] = static_cast<char>(i + 1 < ext.size() ? ext[i + 1].first : 6);
    chain += h;
  }
  std::string ip;
  Put32(ip, 0x60000000);
  Put16(ip, static_cast<uint16_t>(chain.size() + tcp.size() + payload.size()));
  ip += static_cast<char>(ext.empty() ? 6 : ext[0].first), ip += '\x40';
  std::string a(16, '\0'), b(16, '\0');
  a[15] = up ? 2 : 1, b[15] = up ? 1 : 2;
  ip += a + b;
  return p + ip + chain + tcp + payload;
}

struct PcapWriter {
  std::string bytes;
  uint32_t t = 0;
  PcapWriter() {
    Le32(bytes, 0xa1b2c3d4), bytes += std::string("\x02\x00\x04\x00", 4);
    Le32(bytes, 0), Le32(bytes, 0), Le32(bytes, 65535), Le32(bytes, 1);
  }
  void Add(const std::string& pkt) {
    Le32(bytes, 1700000000), Le32(bytes, t++);
    Le32(bytes, static_cast<uint32_t>(pkt.size())), Le32(bytes, static_cast<uint32_t>(pkt.size()));
    bytes += pkt;
  }
};

TEST(Reassembler, OutOfOrderAndRetransmittedSegmentsComeOutOnceInOrder) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += static_cast<char>('a' + i % 26);
  Reassembler ra;
  ra.Start(4000000000u);  // wraps around 2^32 inside the stream
  auto seg = [&](size_t off, size_t len) {
    return ra.Add(static_cast<uint32_t>(4000000000u + off),
                  {reinterpret_cast<const uint8_t*>(stream.data()) + off, len});
  };
  std::string out;
  out += seg(100, 200);   // early: waits
  out += seg(250, 300);   // overlaps the waiting one
  EXPECT_EQ(out, "");
  out += seg(0, 120);     // fills the hole: 0..550 comes out
  EXPECT_EQ(out, stream.substr(0, 550));
  out += seg(0, 550);     // a full retransmission: nothing new
  out += seg(500, 500);   // partly old, partly new
  EXPECT_EQ(out, stream);
  EXPECT_GT(ra.retransmitted_bytes(), 550u);
  EXPECT_EQ(ra.pending_segments(), 0u);
}

TEST(FrameStream, DecodesCompressedFramesAfterTheWelcomeByteByByte) {
  std::string up, down;
  Exchange(&up, &down);
  FrameStream fs;
  std::vector<FrameRecord> got;
  for (char ch : down)
    for (auto& r : fs.Feed(std::string_view(&ch, 1))) got.push_back(std::move(r));
  ASSERT_EQ(got.size(), 41u);
  for (const auto& r : got) ASSERT_TRUE(r.message.has_value()) << r.error;
  EXPECT_TRUE(got[5].compressed);
  EXPECT_EQ(got[5].dict_id, 1001u);
  EXPECT_LT(got[5].wire_bytes, got[5].body_bytes);
}

TEST(Wiredump, RealLoopbackCaptureDecodesEveryFrame) {
  DumpRun r = Dump("--json --port 17811 " + std::string(TERN_SOURCE_DIR) + "/tests/data/wiredump/session.pcap");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.lines.size(), 34u);
  EXPECT_EQ(Count(r.lines, "\"error\""), 0u);
  EXPECT_EQ(Count(r.lines, "\"compressed\":true,\"dict_id\":1001"), 16u) << "every post-Welcome frame";
  EXPECT_EQ(Count(r.lines, "hi Bob, привет, 你好, مرحبا 👋"), 2u) << "the Send and its Deliver";
  EXPECT_EQ(Count(r.lines, "\"type\":\"Welcome\""), 7u);
  DumpRun text = Dump("--port 17811 " + std::string(TERN_SOURCE_DIR) + "/tests/data/wiredump/session.pcap");
  EXPECT_EQ(text.lines.size(), 34u);
  EXPECT_EQ(Count(text.lines, "Deliver items=2 seqs=1..2"), 1u);
}

// Every frame of Exchange() came out of the capture, both ways, nothing malformed.
void ExpectWholeExchange(const DumpRun& r) {
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(Count(r.lines, "\"dir\":\"c>s\""), 41u);
  EXPECT_EQ(Count(r.lines, "\"dir\":\"s>c\""), 41u);
  EXPECT_EQ(Count(r.lines, "\"error\""), 0u);
  EXPECT_EQ(Count(r.lines, "message number 40, привет 👋"), 1u);
}

TEST(Wiredump, ShuffledRetransmittedCaptureReassembles) {
  std::string up, down;
  Exchange(&up, &down);
  PcapWriter w;
  const uint32_t isn_up = 0xfffff000u, isn_down = 12345;  // the client's seq wraps
  w.Add(Packet(true, isn_up, 0x02, ""));
  w.Add(Packet(false, isn_down, 0x12, ""));
  // Up: 7-byte segments, each pair swapped, every 5th sent twice.
  std::vector<std::pair<size_t, size_t>> segs;
  for (size_t off = 0; off < up.size(); off += 7) segs.push_back({off, std::min<size_t>(7, up.size() - off)});
  for (size_t i = 0; i + 1 < segs.size(); i += 2) std::swap(segs[i], segs[i + 1]);
  for (size_t i = 0; i < segs.size(); ++i) {
    w.Add(Packet(true, isn_up + 1 + static_cast<uint32_t>(segs[i].first), 0x18, up.substr(segs[i].first, segs[i].second)));
    if (i % 5 == 0) w.Add(Packet(true, isn_up + 1 + static_cast<uint32_t>(segs[i].first), 0x18, up.substr(segs[i].first, segs[i].second)));
    if (i == 0) w.Add(Packet(false, isn_down + 1, 0x18, down.substr(0, 40)));
  }
  w.Add(Packet(false, isn_down + 1 + 30, 0x18, down.substr(30)));  // overlaps the first part
  const std::string path = ::testing::TempDir() + "/shuffled.pcap";
  std::ofstream(path, std::ios::binary) << w.bytes;
  ExpectWholeExchange(Dump("--json " + path));
  // A capture cut mid-record stops cleanly.
  std::ofstream(path, std::ios::binary) << w.bytes.substr(0, w.bytes.size() - 3);
  DumpRun cut = Dump(path);
  EXPECT_TRUE(cut.rc == 1 || cut.rc == 2) << cut.rc;
}

TEST(Wiredump, Ipv6ExtensionHeadersAreWalkedAndRealFragmentsSkipped) {
  std::string up, down;
  Exchange(&up, &down);
  // Hop-by-hop (8 bytes), destination options (16 bytes), an atomic fragment header (offset 0,
  // no more fragments): the walker must reach TCP through all three.
  const std::vector<std::pair<uint8_t, std::string>> ext = {
      {0, std::string(8, '\0')}, {60, std::string("\0\x01", 2) + std::string(14, '\0')},
      {44, std::string(8, '\0')}};
  PcapWriter w;
  w.Add(Packet6(true, 100, 0x02, "", ext));
  w.Add(Packet6(false, 500, 0x12, "", ext));
  w.Add(Packet6(true, 101, 0x18, up, ext));
  w.Add(Packet6(false, 501, 0x18, down, ext));
  // A real fragment (offset 8) carrying garbage: skipped, not decoded into the stream.
  std::string frag(8, '\0');
  frag[3] = 8 << 3;
  w.Add(Packet6(true, 101 + static_cast<uint32_t>(up.size()), 0x18, "\xff\xff\xff", {{44, frag}}));
  const std::string path = ::testing::TempDir() + "/ipv6ext.pcap";
  std::ofstream(path, std::ios::binary) << w.bytes;
  ExpectWholeExchange(Dump("--json " + path));
}

TEST(Wiredump, CorruptedStreamsAreReportedWithOffsetAndReason) {
  const std::string ping = Frame(wire::Ping{7});
  const std::string path = ::testing::TempDir() + "/corrupt.bin";
  auto raw = [&](const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
    return Dump("--raw " + path);
  };
  // Unknown flag bits: the header is unsound, the direction stops.
  DumpRun flags = raw(ping + "\x05\x80" + std::string(4, 'x') + ping);
  EXPECT_EQ(flags.rc, 1);
  ASSERT_EQ(flags.lines.size(), 2u);
  EXPECT_NE(flags.lines[1].find("MALFORMED at offset " + std::to_string(ping.size()) + ": unknown frame flag bits"), std::string::npos) << flags.lines[1];
  // A body that does not verify: reported and skipped by its length; the next frame decodes.
  DumpRun body = raw(ping + wire::EncodeFrame(0, "garbage body!") + ping);
  EXPECT_EQ(body.rc, 1);
  ASSERT_EQ(body.lines.size(), 3u);
  EXPECT_NE(body.lines[1].find("(skipped)"), std::string::npos);
  EXPECT_NE(body.lines[2].find("Ping nonce=7"), std::string::npos);
  // Compressed garbage, a non-minimal varint and a truncated tail.
  DumpRun z = raw(wire::EncodeFrame(wire::kFlagCompressed, "\x20\x11\x22\x33\x44"));
  EXPECT_EQ(Count(z.lines, "compressed body"), 1u);
  DumpRun varint = raw(std::string("\x80\x00", 2));
  EXPECT_EQ(Count(varint.lines, "not minimally encoded"), 1u);
  DumpRun cut = raw(ping.substr(0, ping.size() - 1));
  EXPECT_EQ(Count(cut.lines, "stream ends inside a frame"), 1u);
  EXPECT_EQ(cut.rc, 1);
}

TEST(Wiredump, HexOnStdin) {
  // The Ping golden vector of PROTOCOL.md §2.5.
  DumpRun r = Dump("--json", "31 00  # n = 49\n10000000 00000000 08000e00 07000800 08000000 000000 13\n"
                         "0c000000 0000 06000c00 0400 06000000 8877665544332211\n");
  EXPECT_EQ(r.rc, 0);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_NE(r.lines[0].find("\"nonce\":1234605616436508552"), std::string::npos) << r.lines[0];
  EXPECT_EQ(Dump("", "zz").rc, 2);
}

}  // namespace
}  // namespace tern::tools::wiredump

namespace tern::tools::wiredump {
namespace {

// --json shows every field of the messages added with groups, receipts, presence and profiles
// (issue 4), and the group/receipt fields of inbox items.
TEST(WiredumpJson, GroupReceiptPresenceAndProfileMessagesShowTheirFields) {
  wire::Deliver d;
  wire::InboxItem ev;
  ev.seq = 7, ev.kind = wire::ItemKind::kGroupEvent, ev.group_id = 99, ev.event = wire::GroupOp::kAdd, ev.event_user = 5;
  wire::InboxItem rc;
  rc.seq = 8, rc.kind = wire::ItemKind::kReceipt, rc.chat_seq = 3, rc.receipt = wire::ReceiptType::kRead;
  d.items = {ev, rc};
  const std::string items = MessageJson(d);
  EXPECT_NE(items.find("\"kind\":\"group_event\""), std::string::npos) << items;
  EXPECT_NE(items.find("\"group_id\":99,\"event\":\"add\",\"event_user\":5"), std::string::npos) << items;
  EXPECT_NE(items.find("\"kind\":\"receipt\""), std::string::npos) << items;
  EXPECT_NE(items.find("\"receipt\":\"read\""), std::string::npos) << items;

  wire::GroupInfo gi;
  gi.req_id = 4, gi.group_id = 99, gi.name = "team", gi.members = {{1, true}, {5, false}}, gi.chat_seq = 12;
  const std::string g = MessageJson(gi);
  EXPECT_NE(g.find("\"name\":\"team\""), std::string::npos) << g;
  EXPECT_NE(g.find("\"user_id\":1,\"admin\":true"), std::string::npos) << g;
  EXPECT_NE(g.find("\"chat_seq\":12"), std::string::npos) << g;

  EXPECT_NE(MessageJson(wire::ReadMark{3, 0, 99, 12}).find("\"group_id\":99,\"chat_seq\":12"), std::string::npos);
  wire::ReceiptList rl;
  rl.req_id = 2, rl.marks = {{5, 12, 10}};
  EXPECT_NE(MessageJson(rl).find("\"user_id\":5,\"delivered_seq\":12,\"read_seq\":10"), std::string::npos) << MessageJson(rl);
  wire::Presence pr;
  pr.users = {{5, false, 1700000000000}};
  EXPECT_NE(MessageJson(pr).find("\"online\":false,\"last_seen_ms\":1700000000000"), std::string::npos) << MessageJson(pr);
  wire::SyncContacts sc;
  sc.req_id = 9, sc.phones = {"+15550001", "+15550002"};
  EXPECT_NE(MessageJson(sc).find("\"phones\":[\"+15550001\",\"+15550002\"]"), std::string::npos) << MessageJson(sc);
  wire::GroupChange gc;
  gc.req_id = 1, gc.group_id = 99, gc.op = wire::GroupOp::kRename, gc.name = "new";
  EXPECT_NE(MessageJson(gc).find("\"op\":\"rename\""), std::string::npos) << MessageJson(gc);
}

}  // namespace
}  // namespace tern::tools::wiredump
