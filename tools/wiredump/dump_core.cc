// tern-wiredump core (tools/wiredump/dump_core.h).
#include "tools/wiredump/dump_core.h"

#include <algorithm>
#include <cstdio>
#include <type_traits>
#include <variant>

#include "wire/compress.h"
#include "wire/frame.h"
#include "wire/hex.h"

namespace tern::tools::wiredump {

// ---- Reassembler ----

void Reassembler::Start(uint32_t next_seq) {
  started_ = true;
  next_ = next_seq;
}

std::string Reassembler::Add(uint32_t seq, std::span<const uint8_t> payload) {
  if (payload.empty()) return {};
  if (!started_) Start(seq);
  std::string out;
  // Offset of this segment relative to the next expected byte, in 32-bit sequence space.
  int32_t rel = static_cast<int32_t>(seq - next_);
  std::string_view data(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (rel < 0) {  // starts before what we have: a retransmission, maybe with new bytes after
    const size_t old = static_cast<size_t>(-static_cast<int64_t>(rel));
    if (old >= data.size()) {
      dup_ += data.size();
      return {};
    }
    dup_ += old;
    data.remove_prefix(old);
    rel = 0;
  }
  if (rel > 0) {
    auto& slot = pending_[static_cast<uint64_t>(rel)];
    if (slot.size() < data.size()) slot.assign(data);
    return {};
  }
  out.assign(data);
  next_ += static_cast<uint32_t>(data.size());
  // Pull in waiting segments that are now contiguous (or overlap what we have).
  while (!pending_.empty()) {
    std::map<uint64_t, std::string> rest;
    bool progressed = false;
    for (auto& [off, seg] : pending_) {
      const uint64_t have = out.size();
      if (off <= have) {
        if (off + seg.size() > have) {
          out.append(seg, have - off, std::string::npos);
          next_ += static_cast<uint32_t>(off + seg.size() - have);
        }
        dup_ += std::min<uint64_t>(seg.size(), have - off);
        progressed = true;
      } else {
        rest.emplace(off, std::move(seg));
      }
    }
    pending_.swap(rest);
    if (!progressed) break;
  }
  // Re-key what still waits relative to the new next_.
  if (!pending_.empty()) {
    std::map<uint64_t, std::string> rekeyed;
    for (auto& [off, seg] : pending_) rekeyed.emplace(off - out.size(), std::move(seg));
    pending_.swap(rekeyed);
  }
  delivered_ += out.size();
  return out;
}

// ---- FrameStream ----

std::vector<FrameRecord> FrameStream::Feed(std::string_view bytes) {
  std::vector<FrameRecord> out;
  if (stopped_) return out;
  if (pos_ > 0) {
    base_ += pos_;
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
  for (;;) {
    std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(buf_.data()) + pos_,
                                  buf_.size() - pos_);
    auto h = wire::ParseFrameHeader(rest, max_body_);
    if (!h.ok()) {
      FrameRecord r;
      r.offset = base_ + pos_;
      r.error = h.status().message();
      r.fatal = true;
      out.push_back(std::move(r));
      stopped_ = true;
      return out;
    }
    if (!h.value()) return out;
    const wire::FrameHeader& fh = *h.value();
    if (rest.size() < fh.header_len + fh.body_len) return out;
    std::string_view body(buf_.data() + pos_ + fh.header_len, fh.body_len);
    out.push_back(Decode(base_ + pos_, fh.header_len, fh.flags, body));
    pos_ += fh.header_len + fh.body_len;
  }
}

FrameRecord FrameStream::Decode(uint64_t offset, size_t header, uint8_t flags,
                                std::string_view body) {
  FrameRecord r;
  r.offset = offset;
  r.wire_bytes = header + body.size();
  r.compressed = (flags & wire::kFlagCompressed) != 0;
  std::string plain;
  auto bytes = [](std::string_view s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  if (r.compressed) {
    std::vector<uint32_t> tries;
    if (dict_ != 0) tries.push_back(dict_);
    else tries = wire::DefaultDictOffer();  // not negotiated in what we saw: guess, newest first
    std::string why;
    for (uint32_t id : tries) {
      auto d = wire::DecompressBody(bytes(body), id, wire::kMaxDecompressedBody);
      if (d.ok() && wire::DecodeMessage(bytes(*d)).ok()) {
        plain = std::move(d).value();
        r.dict_id = id;
        break;
      }
      if (why.empty()) why = d.ok() ? "decompressed body does not decode" : d.status().message();
    }
    if (r.dict_id == 0) {
      r.error = "compressed body: " + why;
      return r;
    }
    body = plain;
  }
  r.body_bytes = body.size();
  auto m = wire::DecodeMessage(bytes(body));
  if (!m.ok()) {
    r.error = m.status().message();
    return r;
  }
  r.message = std::move(m).value();
  if (const auto* w = std::get_if<wire::Welcome>(&*r.message)) {
    if (w->dict_id != 0) dict_ = w->dict_id;
  }
  return r;
}

// ---- rendering ----

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

namespace {

class Obj {
 public:
  explicit Obj(const char* type) { s_ = std::string("{\"type\":\"") + type + "\""; }
  Obj& U(const char* k, uint64_t v) { return Raw(k, std::to_string(v)); }
  Obj& B(const char* k, bool v) { return Raw(k, v ? "true" : "false"); }
  Obj& S(const char* k, std::string_view v) { return Raw(k, JsonString(v)); }
  Obj& C(const char* k, Code c) { return Raw(k, JsonString(CodeName(c))); }
  Obj& Ids(const char* k, const std::vector<uint32_t>& v) {
    std::string a = "[";
    for (size_t i = 0; i < v.size(); ++i) a += (i ? "," : "") + std::to_string(v[i]);
    return Raw(k, a + "]");
  }
  Obj& Raw(const char* k, const std::string& v) {
    s_ += std::string(",\"") + k + "\":" + v;
    return *this;
  }
  std::string Done() { return s_ + "}"; }

 private:
  std::string s_;
};

const char* KindName(wire::ItemKind k) {
  switch (k) {
    case wire::ItemKind::kMessage: return "message";
    case wire::ItemKind::kExpired: return "expired";
    case wire::ItemKind::kMissed: return "missed";
    case wire::ItemKind::kGroupEvent: return "group_event";
    case wire::ItemKind::kReceipt: return "receipt";
    default: return "other";  // kinds added later print as "other", never break the dump
  }
}

const char* OpName(wire::GroupOp op) {
  switch (op) {
    case wire::GroupOp::kNone: return "none";
    case wire::GroupOp::kCreate: return "create";
    case wire::GroupOp::kAdd: return "add";
    case wire::GroupOp::kRemove: return "remove";
    case wire::GroupOp::kLeave: return "leave";
    case wire::GroupOp::kRename: return "rename";
    case wire::GroupOp::kPromote: return "promote";
    case wire::GroupOp::kDemote: return "demote";
  }
  return "other";
}

const char* ReceiptName(wire::ReceiptType r) {
  switch (r) {
    case wire::ReceiptType::kNone: return "none";
    case wire::ReceiptType::kDelivered: return "delivered";
    case wire::ReceiptType::kRead: return "read";
  }
  return "other";
}

std::string U64s(const std::vector<uint64_t>& v) {
  std::string a = "[";
  for (size_t i = 0; i < v.size(); ++i) a += (i ? "," : "") + std::to_string(v[i]);
  return a + "]";
}

std::string Hex(const std::string& raw) { return HexLower(raw); }

// Media references (PROTOCOL.md §5) as a JSON array; the thumbnail by its size only.
std::string AssetsJson(const std::vector<wire::AssetRef>& assets) {
  std::string a = "[";
  for (size_t i = 0; i < assets.size(); ++i) {
    const auto& x = assets[i];
    Obj e("AssetRef");
    e.U("asset_id", x.asset_id).U("size", x.size).S("mime", x.mime).S("sha256", Hex(x.sha256))
        .U("width", x.width).U("height", x.height).U("duration_ms", x.duration_ms)
        .U("thumbnail_bytes", x.thumbnail.size()).S("name", x.name);
    a += (i ? "," : "") + e.Done();
  }
  return a + "]";
}

std::string ItemJson(const wire::InboxItem& it) {
  Obj o("InboxItem");
  o.U("seq", it.seq).S("kind", KindName(it.kind)).U("msg_id", it.msg_id)
      .U("sender_user", it.sender_user).U("sender_device", it.sender_device)
      .U("to_user", it.to_user).U("chat_seq", it.chat_seq).U("server_ts_ms", it.server_ts_ms)
      .S("text", it.text);
  if (it.group_id != 0) o.U("group_id", it.group_id);
  if (it.kind == wire::ItemKind::kGroupEvent) o.S("event", OpName(it.event)).U("event_user", it.event_user);
  if (it.kind == wire::ItemKind::kReceipt) o.S("receipt", ReceiptName(it.receipt));
  if (!it.assets.empty()) o.Raw("assets", AssetsJson(it.assets));
  return o.Done();
}

std::string Short(const std::string& text, size_t max = 40) {
  std::string t;
  for (char ch : text) t += (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
  if (t.size() <= max) return "\"" + t + "\"";
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(t[n]) & 0xC0) == 0x80) --n;
  return "\"" + t.substr(0, n) + "\"...";
}

}  // namespace

std::string MessageJson(const wire::Message& m) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        const char* name = wire::MessageName(wire::Message(x));
        Obj o(name);
        if constexpr (std::is_same_v<T, wire::RequestCode>) {
          o.U("version", x.version).S("phone", x.phone);
        } else if constexpr (std::is_same_v<T, wire::Verify>) {
          o.U("version", x.version).S("phone", x.phone).S("code", x.code)
              .S("device_name", x.device_name).U("max_inflight", x.max_inflight).Ids("dict_ids", x.dict_ids);
        } else if constexpr (std::is_same_v<T, wire::Link>) {
          o.U("version", x.version).S("link_code", x.link_code).S("device_name", x.device_name)
              .U("max_inflight", x.max_inflight).Ids("dict_ids", x.dict_ids);
        } else if constexpr (std::is_same_v<T, wire::Resume>) {
          o.U("version", x.version).U("user_id", x.user_id).U("device_id", x.device_id)
              .S("token", x.token).U("inbox_epoch", x.inbox_epoch).U("last_inbox_seq", x.last_inbox_seq)
              .U("last_acked_client_seq", x.last_acked_client_seq).U("max_inflight", x.max_inflight)
              .Ids("dict_ids", x.dict_ids);
        } else if constexpr (std::is_same_v<T, wire::CodeSent>) {
          o.U("code_ttl_ms", x.code_ttl_ms).U("retry_after_ms", x.retry_after_ms);
        } else if constexpr (std::is_same_v<T, wire::Welcome>) {
          o.U("user_id", x.user_id).U("device_id", x.device_id).S("token", x.token)
              .U("inbox_epoch", x.inbox_epoch).B("epoch_changed", x.epoch_changed)
              .U("client_seq_high", x.client_seq_high).U("heartbeat_ms", x.heartbeat_ms)
              .U("server_time_ms", x.server_time_ms).U("max_frame", x.max_frame)
              .U("max_inflight", x.max_inflight).U("dict_id", x.dict_id);
        } else if constexpr (std::is_same_v<T, wire::Send>) {
          o.U("client_seq", x.client_seq).U("to_user", x.to_user).S("text", x.text)
              .U("ack_inbox_seq", x.ack_inbox_seq);
          if (x.group_id != 0) o.U("group_id", x.group_id);
          if (!x.assets.empty()) o.Raw("assets", AssetsJson(x.assets));
        } else if constexpr (std::is_same_v<T, wire::GetUploadTicket>) {
          o.U("req_id", x.req_id).U("size", x.size).S("mime", x.mime).S("sha256", Hex(x.sha256));
        } else if constexpr (std::is_same_v<T, wire::GetDownloadTicket>) {
          o.U("req_id", x.req_id).U("asset_id", x.asset_id);
        } else if constexpr (std::is_same_v<T, wire::AssetTicket>) {
          o.U("req_id", x.req_id).C("status", x.status).U("asset_id", x.asset_id).S("method", x.method)
              .S("url", x.url).U("expires_ms", x.expires_ms).U("size", x.size).S("mime", x.mime)
              .S("sha256", Hex(x.sha256));
        } else if constexpr (std::is_same_v<T, wire::InboxAck>) {
          o.U("seq", x.seq);
        } else if constexpr (std::is_same_v<T, wire::ResolvePhone>) {
          o.U("req_id", x.req_id).S("phone", x.phone);
        } else if constexpr (std::is_same_v<T, wire::CreateLinkCode> ||
                             std::is_same_v<T, wire::ListDevices>) {
          o.U("req_id", x.req_id);
        } else if constexpr (std::is_same_v<T, wire::UnlinkDevice>) {
          o.U("req_id", x.req_id).U("device_id", x.device_id);
        } else if constexpr (std::is_same_v<T, wire::SendAck>) {
          o.U("client_seq", x.client_seq).C("status", x.status).U("msg_id", x.msg_id)
              .U("chat_seq", x.chat_seq).U("server_ts_ms", x.server_ts_ms);
        } else if constexpr (std::is_same_v<T, wire::Deliver>) {
          std::string a = "[";
          for (size_t i = 0; i < x.items.size(); ++i) a += (i ? "," : "") + ItemJson(x.items[i]);
          o.Raw("items", a + "]");
        } else if constexpr (std::is_same_v<T, wire::Resolved>) {
          o.U("req_id", x.req_id).U("user_id", x.user_id);
        } else if constexpr (std::is_same_v<T, wire::LinkCode>) {
          o.U("req_id", x.req_id).S("code", x.code).U("expires_ms", x.expires_ms);
        } else if constexpr (std::is_same_v<T, wire::DeviceList>) {
          std::string a = "[";
          for (size_t i = 0; i < x.devices.size(); ++i) {
            const auto& d = x.devices[i];
            Obj e("DeviceInfo");
            e.U("device_id", d.device_id).S("name", d.name).U("created_ms", d.created_ms)
                .U("last_seen_ms", d.last_seen_ms).B("online", d.online);
            a += (i ? "," : "") + e.Done();
          }
          o.U("req_id", x.req_id).Raw("devices", a + "]");
        } else if constexpr (std::is_same_v<T, wire::Reply>) {
          o.U("req_id", x.req_id).C("status", x.status).S("message", x.message);
        } else if constexpr (std::is_same_v<T, wire::Ping> || std::is_same_v<T, wire::Pong>) {
          o.U("nonce", x.nonce);
        } else if constexpr (std::is_same_v<T, wire::Error>) {
          o.C("code", x.code).S("message", x.message);
        } else if constexpr (std::is_same_v<T, wire::CreateGroup>) {
          o.U("req_id", x.req_id).S("name", x.name).Raw("members", U64s(x.members));
        } else if constexpr (std::is_same_v<T, wire::GroupChange>) {
          o.U("req_id", x.req_id).U("group_id", x.group_id).S("op", OpName(x.op)).U("user_id", x.user_id)
              .S("name", x.name);
        } else if constexpr (std::is_same_v<T, wire::GetGroup>) {
          o.U("req_id", x.req_id).U("group_id", x.group_id);
        } else if constexpr (std::is_same_v<T, wire::GroupInfo>) {
          std::string a = "[";
          for (size_t i = 0; i < x.members.size(); ++i) {
            Obj e("GroupMember");
            e.U("user_id", x.members[i].user_id).B("admin", x.members[i].admin);
            a += (i ? "," : "") + e.Done();
          }
          o.U("req_id", x.req_id).C("status", x.status).U("group_id", x.group_id).S("name", x.name)
              .Raw("members", a + "]").U("created_ms", x.created_ms).U("chat_seq", x.chat_seq);
        } else if constexpr (std::is_same_v<T, wire::ReadMark>) {
          o.U("req_id", x.req_id).U("peer_user", x.peer_user).U("group_id", x.group_id).U("chat_seq", x.chat_seq);
        } else if constexpr (std::is_same_v<T, wire::GetReceipts>) {
          o.U("req_id", x.req_id).U("peer_user", x.peer_user).U("group_id", x.group_id);
        } else if constexpr (std::is_same_v<T, wire::ReceiptList>) {
          std::string a = "[";
          for (size_t i = 0; i < x.marks.size(); ++i) {
            Obj e("ReceiptMark");
            e.U("user_id", x.marks[i].user_id).U("delivered_seq", x.marks[i].delivered_seq)
                .U("read_seq", x.marks[i].read_seq);
            a += (i ? "," : "") + e.Done();
          }
          o.U("req_id", x.req_id).C("status", x.status).Raw("marks", a + "]");
        } else if constexpr (std::is_same_v<T, wire::SetPresence>) {
          o.B("active", x.active);
        } else if constexpr (std::is_same_v<T, wire::SubscribePresence>) {
          o.Raw("users", U64s(x.users));
        } else if constexpr (std::is_same_v<T, wire::Presence>) {
          std::string a = "[";
          for (size_t i = 0; i < x.users.size(); ++i) {
            Obj e("PresenceInfo");
            e.U("user_id", x.users[i].user_id).B("online", x.users[i].online).U("last_seen_ms", x.users[i].last_seen_ms);
            a += (i ? "," : "") + e.Done();
          }
          o.Raw("users", a + "]");
        } else if constexpr (std::is_same_v<T, wire::SetProfile>) {
          o.U("req_id", x.req_id).U("fields", x.fields).S("status", x.status)
              .U("availability", static_cast<unsigned>(x.availability))
              .U("last_seen", static_cast<unsigned>(x.last_seen));
        } else if constexpr (std::is_same_v<T, wire::GetProfiles>) {
          o.U("req_id", x.req_id).Raw("users", U64s(x.users));
        } else if constexpr (std::is_same_v<T, wire::Profiles>) {
          std::string a = "[";
          for (size_t i = 0; i < x.profiles.size(); ++i) {
            const auto& pr = x.profiles[i];
            Obj e("Profile");
            e.U("user_id", pr.user_id).S("phone", pr.phone).S("status", pr.status)
                .U("availability", static_cast<unsigned>(pr.availability)).U("updated_ms", pr.updated_ms);
            a += (i ? "," : "") + e.Done();
          }
          o.U("req_id", x.req_id).C("status", x.status).Raw("profiles", a + "]").U("retry_after_ms", x.retry_after_ms);
        } else if constexpr (std::is_same_v<T, wire::SyncContacts>) {
          std::string a = "[";
          for (size_t i = 0; i < x.phones.size(); ++i) a += (i ? "," : "") + JsonString(x.phones[i]);
          o.U("req_id", x.req_id).Raw("phones", a + "]");
        }
        return o.Done();
      },
      m);
}

std::string SummaryLine(const FrameRecord& r) {
  if (!r.message) return "MALFORMED at offset " + std::to_string(r.offset) + ": " + r.error;
  const wire::Message& m = *r.message;
  std::string s = wire::MessageName(m);
  std::visit(
      [&s](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        auto f = [&s](const char* k, const std::string& v) { s += std::string(" ") + k + "=" + v; };
        auto u = [&f](const char* k, uint64_t v) { f(k, std::to_string(v)); };
        if constexpr (std::is_same_v<T, wire::Send>) {
          u("client_seq", x.client_seq), u("to", x.to_user);
          if (x.ack_inbox_seq) u("ack", x.ack_inbox_seq);
          if (!x.assets.empty()) u("assets", x.assets.size());
          f("text", Short(x.text));
        } else if constexpr (std::is_same_v<T, wire::SendAck>) {
          u("client_seq", x.client_seq), f("status", CodeName(x.status)), u("msg_id", x.msg_id);
          u("chat_seq", x.chat_seq);
        } else if constexpr (std::is_same_v<T, wire::Deliver>) {
          u("items", x.items.size());
          if (!x.items.empty()) {
            f("seqs", std::to_string(x.items.front().seq) + ".." + std::to_string(x.items.back().seq));
            f("first", Short(x.items.front().text));
          }
        } else if constexpr (std::is_same_v<T, wire::InboxAck>) {
          u("seq", x.seq);
        } else if constexpr (std::is_same_v<T, wire::Welcome>) {
          u("user", x.user_id), u("device", x.device_id), u("epoch", x.inbox_epoch);
          u("client_seq_high", x.client_seq_high), u("window", x.max_inflight), u("dict", x.dict_id);
        } else if constexpr (std::is_same_v<T, wire::Resume>) {
          u("user", x.user_id), u("device", x.device_id), u("last_inbox_seq", x.last_inbox_seq);
          u("window", x.max_inflight);
          std::string ids;
          for (uint32_t id : x.dict_ids) ids += (ids.empty() ? "" : ",") + std::to_string(id);
          f("dicts", "[" + ids + "]");
        } else if constexpr (std::is_same_v<T, wire::Verify>) {
          f("phone", x.phone), f("device", Short(x.device_name));
        } else if constexpr (std::is_same_v<T, wire::RequestCode>) {
          f("phone", x.phone);
        } else if constexpr (std::is_same_v<T, wire::Error>) {
          f("code", CodeName(x.code)), f("message", Short(x.message, 80));
        } else if constexpr (std::is_same_v<T, wire::Ping> || std::is_same_v<T, wire::Pong>) {
          u("nonce", x.nonce);
        } else if constexpr (requires { x.req_id; }) {
          u("req_id", x.req_id);
        }
      },
      m);
  return s;
}

}  // namespace tern::tools::wiredump
