// tern-wiredump: decode Tern frames from a capture or a byte stream (README "tern-wiredump").
//
//   tern-wiredump [--json] [--port P] [--dict ID] capture.pcap|capture.pcapng
//   tern-wiredump [--json] [--dict ID] --raw stream.bin      one direction's raw bytes
//   tern-wiredump [--json] [--dict ID] < hex.txt             hex on stdin (spaces, newlines and
//                                                            '#' comments ignored)
//
// pcap/pcapng (libpcap): every TCP connection to or from the server port (default 7011; 0 =
// any port, the side that answered the SYN is the server) is reassembled per direction
// (out-of-order and retransmitted segments are handled). Link types: Ethernet (VLAN tags),
// Linux cooked v1/v2, BSD loopback, raw IP; IPv4, and IPv6 through its extension headers
// (hop-by-hop, routing, destination options, AH, atomic fragment headers; real IP fragments
// are skipped, not reassembled). One line per frame: time, connection,
// direction, wire bytes, decompressed bytes, type and key fields; with --json one JSON object
// per frame with every field. A malformed frame is reported with its stream offset and reason;
// the direction resynchronises on the next frame when the header was sound, else stops.
// Exit status: 0 all frames decoded, 1 some frame was malformed or truncated, 2 bad usage/input.
#include <pcap/pcap.h>

#include <arpa/inet.h>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "tools/wiredump/dump_core.h"

namespace tern::tools::wiredump {
namespace {

struct Options {
  bool json = false;
  uint16_t port = 7011;
  uint32_t dict = 0;
  std::string raw, file;
};

struct Printer {
  const Options& o;
  int malformed = 0;
  void Frame(double t, const std::string& conn, const char* dir, const FrameRecord& r) {
    if (!r.message) ++malformed;
    if (o.json) {
      std::string line = "{";
      if (t >= 0) {
        char ts[32];
        std::snprintf(ts, sizeof ts, "%.6f", t);
        line += std::string("\"time\":") + ts + ",";
      }
      line += "\"conn\":" + JsonString(conn) + ",\"dir\":\"" + dir + "\",\"offset\":" +
              std::to_string(r.offset) + ",\"wire_bytes\":" + std::to_string(r.wire_bytes) +
              ",\"body_bytes\":" + std::to_string(r.body_bytes) + ",\"compressed\":" +
              (r.compressed ? "true" : "false");
      if (r.compressed) line += ",\"dict_id\":" + std::to_string(r.dict_id);
      if (r.message) line += ",\"msg\":" + MessageJson(*r.message);
      else line += ",\"error\":" + JsonString(r.error) + ",\"fatal\":" + (r.fatal ? "true" : "false");
      std::printf("%s}\n", line.c_str());
      return;
    }
    char head[160];
    if (t >= 0) std::snprintf(head, sizeof head, "%.6f %s %s", t, conn.c_str(), dir);
    else std::snprintf(head, sizeof head, "%s %s", conn.c_str(), dir);
    if (!r.message) {
      std::printf("%s %s%s\n", head, SummaryLine(r).c_str(), r.fatal ? " (direction stops)" : " (skipped)");
      return;
    }
    std::printf("%s wire=%zu body=%zu%s %s\n", head, r.wire_bytes, r.body_bytes,
                r.compressed ? (" z" + std::to_string(r.dict_id)).c_str() : "",
                SummaryLine(r).c_str());
  }
  void Truncated(double t, const std::string& conn, const char* dir, const FrameStream& s) {
    if (s.stopped() || s.buffered() == 0) return;
    FrameRecord r;
    r.offset = s.offset();
    r.error = "stream ends inside a frame (" + std::to_string(s.buffered()) + " bytes)";
    r.fatal = true;
    Frame(t, conn, dir, r);
  }
};

int RunStream(const Options& o, const std::string& bytes) {
  Printer p{o};
  FrameStream s;
  s.set_dict(o.dict);
  for (const FrameRecord& r : s.Feed(bytes)) p.Frame(-1, "stream", "-", r);
  p.Truncated(-1, "stream", "-", s);
  return p.malformed ? 1 : 0;
}

bool ParseHex(std::istream& in, std::string* out) {
  std::string line;
  int nib = -1;
  while (std::getline(in, line)) {
    for (char ch : line) {
      if (ch == '#') break;
      int v = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
            : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10 : -1;
      if (v < 0) {
        if (ch == ' ' || ch == '\t' || ch == ':' || ch == '\r') continue;
        return false;
      }
      if (nib < 0) nib = v;
      else out->push_back(static_cast<char>(nib << 4 | v)), nib = -1;
    }
  }
  return nib < 0;
}

// ---- pcap ----

struct Endpoint {
  uint8_t addr[16] = {};
  uint16_t port = 0;
  bool v6 = false;
  auto Key() const { return std::tuple(std::string(reinterpret_cast<const char*>(addr), 16), port); }
  std::string Str() const {
    char a[INET6_ADDRSTRLEN] = {};
    inet_ntop(v6 ? AF_INET6 : AF_INET, addr, a, sizeof a);
    return v6 ? "[" + std::string(a) + "]:" + std::to_string(port) : std::string(a) + ":" + std::to_string(port);
  }
};

struct Conn {
  std::string name;
  Endpoint client, server;
  Reassembler up, down;     // client->server, server->client
  FrameStream up_frames, down_frames;
  double last_time = 0;
};

struct Segment {
  Endpoint src, dst;
  uint32_t seq = 0;
  bool syn = false, ack = false;
  const uint8_t* payload = nullptr;
  size_t len = 0;
};

// Link layer -> IP -> TCP. Returns false for anything that is not a TCP segment.
bool ParsePacket(int linktype, const uint8_t* p, size_t n, Segment* s) {
  size_t off = 0;
  uint16_t ethertype = 0;
  switch (linktype) {
    case DLT_EN10MB:
      if (n < 14) return false;
      ethertype = static_cast<uint16_t>(p[12] << 8 | p[13]);
      off = 14;
      while (ethertype == 0x8100 && n >= off + 4) {  // VLAN tags
        ethertype = static_cast<uint16_t>(p[off + 2] << 8 | p[off + 3]);
        off += 4;
      }
      break;
    case DLT_LINUX_SLL:
      if (n < 16) return false;
      ethertype = static_cast<uint16_t>(p[14] << 8 | p[15]);
      off = 16;
      break;
    case DLT_LINUX_SLL2:
      if (n < 20) return false;
      ethertype = static_cast<uint16_t>(p[0] << 8 | p[1]);
      off = 20;
      break;
    case DLT_NULL:
    case DLT_LOOP: {
      if (n < 4) return false;
      uint32_t fam;
      std::memcpy(&fam, p, 4);
      if (linktype == DLT_LOOP) fam = ntohl(fam);
      ethertype = (fam == 2) ? 0x0800 : 0x86DD;
      off = 4;
      break;
    }
    case DLT_RAW:
      if (n < 1) return false;
      ethertype = (p[0] >> 4) == 4 ? 0x0800 : 0x86DD;
      break;
    default:
      return false;
  }
  size_t tcp = 0, ip_end = 0;
  if (ethertype == 0x0800) {
    if (n < off + 20 || (p[off] >> 4) != 4 || p[off + 9] != 6) return false;
    const size_t ihl = (p[off] & 0x0F) * 4u;
    const size_t total = static_cast<size_t>(p[off + 2] << 8 | p[off + 3]);
    std::memcpy(s->src.addr, p + off + 12, 4);
    std::memcpy(s->dst.addr, p + off + 16, 4);
    tcp = off + ihl;
    ip_end = std::min(n, off + total);
  } else if (ethertype == 0x86DD) {
    if (n < off + 40 || (p[off] >> 4) != 6) return false;
    s->src.v6 = s->dst.v6 = true;
    std::memcpy(s->src.addr, p + off + 8, 16);
    std::memcpy(s->dst.addr, p + off + 24, 16);
    ip_end = std::min(n, off + 40 + static_cast<size_t>(p[off + 4] << 8 | p[off + 5]));
    // Walk the extension headers (RFC 8200 §4) to the TCP header: hop-by-hop (0), routing
    // (43), destination options (60) and AH (51) are skipped by their length; a fragment
    // header (44) is followed only for an unfragmented packet (offset 0, no more fragments):
    // IP fragments are not reassembled. Anything else (ESP, no next header, UDP) is not TCP.
    uint8_t next = p[off + 6];
    size_t at = off + 40;
    for (int hops = 0; next != 6; ++hops) {
      if (hops == 16 || at + 8 > ip_end) return false;
      const uint8_t following = p[at];
      size_t len;
      if (next == 0 || next == 43 || next == 60) {
        len = (static_cast<size_t>(p[at + 1]) + 1) * 8;
      } else if (next == 51) {
        len = (static_cast<size_t>(p[at + 1]) + 2) * 4;
      } else if (next == 44) {
        const uint16_t frag = static_cast<uint16_t>(p[at + 2] << 8 | p[at + 3]);
        if ((frag & 0xFFF9) != 0) return false;  // a real fragment (offset or M flag set)
        len = 8;
      } else {
        return false;
      }
      at += len;
      next = following;
    }
    tcp = at;
  } else {
    return false;
  }
  if (ip_end < tcp + 20) return false;
  s->src.port = static_cast<uint16_t>(p[tcp] << 8 | p[tcp + 1]);
  s->dst.port = static_cast<uint16_t>(p[tcp + 2] << 8 | p[tcp + 3]);
  s->seq = static_cast<uint32_t>(p[tcp + 4]) << 24 | static_cast<uint32_t>(p[tcp + 5]) << 16 |
           static_cast<uint32_t>(p[tcp + 6]) << 8 | p[tcp + 7];
  const size_t doff = (p[tcp + 12] >> 4) * 4u;
  s->syn = (p[tcp + 13] & 0x02) != 0;
  s->ack = (p[tcp + 13] & 0x10) != 0;
  if (doff < 20 || tcp + doff > ip_end) return false;
  s->payload = p + tcp + doff;
  s->len = ip_end - tcp - doff;
  return true;
}

int RunPcap(const Options& o) {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pc = pcap_open_offline(o.file.c_str(), err);
  if (pc == nullptr) {
    std::fprintf(stderr, "tern-wiredump: %s\n", err);
    return 2;
  }
  const int linktype = pcap_datalink(pc);
  Printer p{o};
  std::map<std::tuple<std::tuple<std::string, uint16_t>, std::tuple<std::string, uint16_t>>,
           std::unique_ptr<Conn>> conns;
  std::vector<Conn*> order;
  pcap_pkthdr* h;
  const u_char* data;
  int rc;
  while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
    Segment s;
    if (!ParsePacket(linktype, data, h->caplen, &s)) continue;
    const double t = static_cast<double>(h->ts.tv_sec) + static_cast<double>(h->ts.tv_usec) / 1e6;
    // Which side is the server: the given port, or (port 0) the side answering a SYN.
    bool to_server;
    if (o.port != 0) {
      if (s.dst.port == o.port) to_server = true;
      else if (s.src.port == o.port) to_server = false;
      else continue;
    } else {
      auto fwd = std::tuple(s.src.Key(), s.dst.Key()), rev = std::tuple(s.dst.Key(), s.src.Key());
      if (conns.count(fwd)) to_server = true;
      else if (conns.count(rev)) to_server = false;
      else if (s.syn && !s.ack) to_server = true;
      else if (s.syn && s.ack) to_server = false;
      else to_server = s.dst.port < s.src.port;  // mid-stream: guess the lower port
    }
    const Endpoint& cl = to_server ? s.src : s.dst;
    const Endpoint& sv = to_server ? s.dst : s.src;
    auto key = std::tuple(cl.Key(), sv.Key());
    auto it = conns.find(key);
    if (it == conns.end() || (s.syn && !s.ack && it->second->up.delivered() > 0)) {
      auto c = std::make_unique<Conn>();
      c->client = cl;
      c->server = sv;
      c->name = cl.Str() + ">" + sv.Str();
      c->up_frames.set_dict(o.dict);
      c->down_frames.set_dict(o.dict);
      order.push_back(c.get());
      it = conns.insert_or_assign(key, std::move(c)).first;
    }
    Conn& c = *it->second;
    c.last_time = t;
    Reassembler& ra = to_server ? c.up : c.down;
    if (s.syn) {
      ra.Start(s.seq + 1);
      continue;  // (a SYN carrying data would be TCP Fast Open: not used by Tern clients)
    }
    std::string bytes = ra.Add(s.seq, std::span<const uint8_t>(s.payload, s.len));
    if (bytes.empty()) continue;
    FrameStream& fs = to_server ? c.up_frames : c.down_frames;
    for (const FrameRecord& r : fs.Feed(bytes)) {
      p.Frame(t, c.name, to_server ? "c>s" : "s>c", r);
      // The Welcome fixes the dictionary for the client's frames too.
      if (!to_server && r.message) {
        if (const auto* w = std::get_if<wire::Welcome>(&*r.message); w && w->dict_id)
          c.up_frames.set_dict(w->dict_id);
      }
    }
  }
  if (rc == -1) {
    std::fprintf(stderr, "tern-wiredump: %s\n", pcap_geterr(pc));
    pcap_close(pc);
    return 2;
  }
  pcap_close(pc);
  for (Conn* c : order) {
    p.Truncated(c->last_time, c->name, "c>s", c->up_frames);
    p.Truncated(c->last_time, c->name, "s>c", c->down_frames);
    if (c->up.pending_segments() || c->down.pending_segments())
      std::fprintf(stderr, "tern-wiredump: %s: bytes missing from the capture (a hole)\n", c->name.c_str());
  }
  return p.malformed ? 1 : 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: tern-wiredump [--json] [--port P] [--dict ID] CAPTURE.pcap[ng]\n"
               "       tern-wiredump [--json] [--dict ID] --raw STREAM.bin\n"
               "       tern-wiredump [--json] [--dict ID] < HEX\n");
  return 2;
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") o.json = true;
    else if (a == "--port" && i + 1 < argc) o.port = static_cast<uint16_t>(std::atoi(argv[++i]));
    else if (a == "--dict" && i + 1 < argc) o.dict = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 0));
    else if (a == "--raw" && i + 1 < argc) o.raw = argv[++i];
    else if (a == "-h" || a == "--help") return Usage();
    else if (a[0] == '-' && a != "-") return Usage();
    else o.file = a;
  }
  if (!o.raw.empty()) {
    std::ifstream in(o.raw, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "tern-wiredump: cannot read %s\n", o.raw.c_str());
      return 2;
    }
    return RunStream(o, std::string(std::istreambuf_iterator<char>(in), {}));
  }
  if (o.file.empty() || o.file == "-") {
    std::string bytes;
    if (!ParseHex(std::cin, &bytes)) {
      std::fprintf(stderr, "tern-wiredump: stdin is not hex\n");
      return 2;
    }
    return RunStream(o, bytes);
  }
  return RunPcap(o);
}

}  // namespace
}  // namespace tern::tools::wiredump

int main(int argc, char** argv) { return tern::tools::wiredump::Main(argc, argv); }
