#include "tools/client/history_records.h"

#include <algorithm>

namespace tern::tools::history {
namespace {

constexpr uint8_t kRecordVersion = 1;

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Var(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Bytes(std::string_view s) {
    Var(s.size());
    out_.append(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t* v) {
    if (in_.empty()) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool Var(uint64_t* v) {
    uint64_t out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = out;
        return true;
      }
    }
    return false;
  }
  template <typename T>
  bool Num(T* v) {
    uint64_t x = 0;
    if (!Var(&x) || x > static_cast<uint64_t>(static_cast<T>(~T{0}))) return false;
    *v = static_cast<T>(x);
    return true;
  }
  bool Bytes(std::string* s) {
    uint64_t n = 0;
    if (!Var(&n) || n > in_.size()) return false;  // checked before allocating
    s->assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

Status Bad(const char* what) { return Status(Code::kCorrupt, std::string("history: bad ") + what + " record"); }

uint64_t GetBig64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

}  // namespace

std::string PutBig64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xff);
  return s;
}

std::string ChatBytes(ChatId chat) {
  return (chat.is_group() ? std::string("g") + PutBig64(chat.group_id) : std::string("u") + PutBig64(chat.peer_user));
}
std::string ChatKey(ChatId chat) { return "c" + ChatBytes(chat); }
std::string MsgPrefix(ChatId chat) { return "m" + ChatBytes(chat); }
std::string MsgKey(ChatId chat, uint64_t chat_seq) { return MsgPrefix(chat) + PutBig64(chat_seq); }
std::string PendingKey(uint64_t client_seq) { return "p" + PutBig64(client_seq); }
std::string SentKey(uint64_t client_seq) { return "s" + PutBig64(client_seq); }

Result<ChatId> ChatOfKey(std::string_view key) {
  const bool msg = !key.empty() && key[0] == 'm';
  if (key.size() != (msg ? 18u : 10u) || (key[0] != 'c' && !msg) || (key[1] != 'u' && key[1] != 'g'))
    return Status(Code::kCorrupt, "history: bad key");
  uint64_t id = GetBig64(key.substr(2, 8));
  if (id == 0) return Status(Code::kCorrupt, "history: bad key (id 0)");
  return key[1] == 'g' ? ChatId::Group(id) : ChatId::Direct(id);
}

uint64_t SeqOfMsgKey(std::string_view key) { return GetBig64(key.substr(10, 8)); }

std::string EncodeMeta(const Meta& m) {
  Writer w;
  w.Var(m.version);
  w.Var(m.owner);
  return std::string(kMagic) + w.Take();
}

Result<Meta> DecodeMeta(std::string_view v) {
  if (v.substr(0, kMagic.size()) != kMagic)
    return Status(Code::kInvalidArgument, "not a Tern history database (no tern-history meta record)");
  Reader r(v.substr(kMagic.size()));
  Meta m;
  if (!r.Num(&m.version) || !r.Var(&m.owner) || !r.done()) return Bad("meta");
  if (m.version != kHistorySchemaVersion)
    return Status(Code::kCorrupt, "history schema version " + std::to_string(m.version) + " is not supported (this build reads " +
                                      std::to_string(kHistorySchemaVersion) + ")");
  return m;
}

std::string EncodeChat(const ChatRecord& c) {
  Writer w;
  w.U8(kRecordVersion);
  for (uint64_t v : {c.read_seq, c.delivered_mark, c.read_mark, c.last_seq, c.last_ts, c.title_seq}) w.Var(v);
  w.Bytes(c.title);
  return w.Take();
}

Result<ChatRecord> DecodeChat(std::string_view v) {
  Reader r(v);
  ChatRecord c;
  uint8_t ver = 0;
  if (!r.U8(&ver) || ver != kRecordVersion) return Bad("chat");
  for (uint64_t* p : {&c.read_seq, &c.delivered_mark, &c.read_mark, &c.last_seq, &c.last_ts, &c.title_seq})
    if (!r.Var(p)) return Bad("chat");
  if (!r.Bytes(&c.title) || !r.done()) return Bad("chat");
  return c;
}

std::string EncodeEntry(const HistoryMessage& e) {
  Writer w;
  w.U8(kRecordVersion);
  for (uint64_t v : {e.chat.peer_user, e.chat.group_id, e.chat_seq, e.client_seq, e.msg_id, e.from_user,
                     static_cast<uint64_t>(e.from_device), e.server_ts_ms, e.event_user})
    w.Var(v);
  w.U8(static_cast<uint8_t>(e.kind));
  w.U8(e.outgoing ? 1 : 0);
  w.U8(static_cast<uint8_t>(e.status));
  w.Var(static_cast<uint16_t>(e.failure));
  w.U8(static_cast<uint8_t>(e.event));
  w.Bytes(e.text);
  w.Var(e.assets.size());
  for (const wire::AssetRef& a : e.assets) {
    for (uint64_t v : {a.asset_id, a.size, static_cast<uint64_t>(a.width), static_cast<uint64_t>(a.height),
                       static_cast<uint64_t>(a.duration_ms)})
      w.Var(v);
    for (const std::string* s : {&a.mime, &a.sha256, &a.thumbnail, &a.name}) w.Bytes(*s);
  }
  return w.Take();
}

Result<HistoryMessage> DecodeEntry(std::string_view v) {
  Reader r(v);
  HistoryMessage e;
  uint8_t ver = 0, kind = 0, out = 0, status = 0, event = 0;
  uint16_t failure = 0;
  uint64_t n = 0;
  if (!r.U8(&ver) || ver != kRecordVersion) return Bad("message");
  bool ok = r.Var(&e.chat.peer_user) && r.Var(&e.chat.group_id) && r.Var(&e.chat_seq) && r.Var(&e.client_seq) &&
            r.Var(&e.msg_id) && r.Var(&e.from_user) && r.Num(&e.from_device) && r.Var(&e.server_ts_ms) &&
            r.Var(&e.event_user) && r.U8(&kind) && r.U8(&out) && r.U8(&status) && r.Num(&failure) && r.U8(&event) &&
            r.Bytes(&e.text) && r.Var(&n);
  if (!ok || kind > 3 || out > 1 || status > static_cast<uint8_t>(MessageStatus::kFailed) || event > wire::kMaxGroupOp ||
      n > v.size())
    return Bad("message");
  e.kind = static_cast<EntryKind>(kind);
  e.outgoing = out == 1;
  e.status = static_cast<MessageStatus>(status);
  e.failure = static_cast<Code>(failure);
  e.event = static_cast<wire::GroupOp>(event);
  for (uint64_t i = 0; i < n; ++i) {
    wire::AssetRef a;
    if (!r.Var(&a.asset_id) || !r.Var(&a.size) || !r.Num(&a.width) || !r.Num(&a.height) || !r.Num(&a.duration_ms) ||
        !r.Bytes(&a.mime) || !r.Bytes(&a.sha256) || !r.Bytes(&a.thumbnail) || !r.Bytes(&a.name))
      return Bad("message");
    e.assets.push_back(std::move(a));
  }
  if (!r.done()) return Bad("message");
  return e;
}

std::string EncodeSentRef(ChatId chat, uint64_t chat_seq) { return ChatBytes(chat) + PutBig64(chat_seq); }

Result<std::pair<ChatId, uint64_t>> DecodeSentRef(std::string_view v) {
  if (v.size() != 17) return Bad("sent");
  auto chat = ChatOfKey("c" + std::string(v.substr(0, 9)));
  if (!chat.ok()) return chat.status();
  return std::make_pair(*chat, GetBig64(v.substr(9, 8)));
}

// ---- search ----

namespace {

// Simple lower-casing of the scripts most chats here use; everything else maps to itself.
char32_t Fold(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x178) return 0xFF;
    const bool odd_pairs = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    return odd_pairs ? ((c & 1) ? c + 1 : c) : ((c & 1) ? c : c + 1);
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;  // Greek
  if (c >= 0x410 && c <= 0x42F) return c + 32;                // Cyrillic А-Я
  if (c >= 0x400 && c <= 0x40F) return c + 80;                // Ѐ-Џ
  return c;
}

}  // namespace

std::u32string FoldUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool valid = len != 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const uint8_t cb = static_cast<uint8_t>(s[i + k]);
      if ((cb & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (cb & 0x3F);
    }
    if (!valid) {  // a stray byte matches only itself, never part of a character
      out.push_back(static_cast<char32_t>(0x110000 + b));
      ++i;
      continue;
    }
    out.push_back(Fold(cp));
    i += len;
  }
  return out;
}

bool ContainsFolded(std::string_view haystack, const std::u32string& folded_needle) {
  if (folded_needle.empty()) return false;
  const std::u32string h = FoldUtf8(haystack);
  return std::search(h.begin(), h.end(), folded_needle.begin(), folded_needle.end()) != h.end();
}

}  // namespace tern::tools::history
