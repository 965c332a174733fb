// History: the export form used by backups, and its merge.
//
// Layout (version 1, all numbers big-endian):
//   "TERNHIST" | u32 version | u64 owner | u64 record count |
//   record*: u8 type ('c' chat, 'm' entry) | u32 key length | key | u32 value length | value
// Keys and values are the database's own (history_records.h); a reader checks every length
// against what is left before using it.
#include <algorithm>

#include "tools/client/history.h"
#include "tools/client/history_records.h"

namespace tern::tools {
namespace {

void Put32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool Take(std::string_view* in, size_t n, std::string_view* out) {
  if (in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

uint64_t Big(std::string_view s) {
  uint64_t v = 0;
  for (char ch : s) v = (v << 8) | static_cast<uint8_t>(ch);
  return v;
}

Status BadExport(const std::string& why) { return Status(Code::kCorrupt, "not a valid history export: " + why); }

}  // namespace

Result<std::string> History::Export() {
  std::string body;
  uint64_t count = 0, owner = 0;
  Status st = kv_->Read([&](HistoryTxn& txn) -> Status {
    auto meta = txn.Get(history::kMetaKey);
    if (!meta.ok()) return meta.status();
    if (meta.value()) {
      auto m = history::DecodeMeta(*meta.value());
      if (!m.ok()) return m.status();
      owner = m->owner;
    }
    for (const char* prefix : {"c", "m"}) {
      const std::string from = prefix, to(1, static_cast<char>(prefix[0] + 1));
      TERN_RETURN_IF_ERROR(txn.Scan(from, to, false, [&](std::string_view k, std::string_view v) {
        body.push_back(prefix[0]);
        Put32(&body, static_cast<uint32_t>(k.size()));
        body.append(k);
        Put32(&body, static_cast<uint32_t>(v.size()));
        body.append(v);
        ++count;
        return true;
      }));
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  std::string out(history::kExportMagic);
  Put32(&out, history::kExportVersion);
  out += history::PutBig64(owner);
  out += history::PutBig64(count);
  out += body;
  return out;
}

Result<History::ImportResult> History::Import(std::string_view in, uint64_t me) {
  std::string_view magic, f;
  if (!Take(&in, 8, &magic) || magic != history::kExportMagic) return BadExport("no TERNHIST header");
  if (!Take(&in, 4, &f)) return BadExport("truncated header");
  if (Big(f) != history::kExportVersion) return BadExport("unknown version " + std::to_string(Big(f)));
  if (!Take(&in, 8, &f)) return BadExport("truncated header");
  const uint64_t owner = Big(f);
  if (owner != 0 && owner != me)
    return Status(Code::kInvalidArgument, "this backup belongs to user " + std::to_string(owner) + ", not to user " +
                                              std::to_string(me));
  if (!Take(&in, 8, &f)) return BadExport("truncated header");
  const uint64_t count = Big(f);
  ImportResult result;
  Status st = kv_->Write([&](HistoryTxn& txn) -> Status {
    result = ImportResult{};
    TERN_RETURN_IF_ERROR(CheckOwner(txn, me));
    std::string_view rest = in, type, key, value, len;
    for (uint64_t i = 0; i < count; ++i) {
      if (!Take(&rest, 1, &type) || !Take(&rest, 4, &len) || !Take(&rest, Big(len), &key) || !Take(&rest, 4, &len) ||
          !Take(&rest, Big(len), &value))
        return BadExport("truncated at record " + std::to_string(i));
      if (key.empty() || type[0] != key[0] || (type[0] != 'c' && type[0] != 'm')) return BadExport("unknown record type");
      auto chat = history::ChatOfKey(key);
      if (!chat.ok()) return BadExport("bad key");
      auto existing = txn.Get(key);
      if (!existing.ok()) return existing.status();
      if (type[0] == 'c') {
        auto c = history::DecodeChat(value);
        if (!c.ok()) return BadExport("bad chat record");
        ++result.chats;
        history::ChatRecord merged = *c;
        if (existing.value()) {
          auto old = history::DecodeChat(*existing.value());
          if (!old.ok()) return old.status();
          merged.read_seq = std::max(old->read_seq, c->read_seq);
          merged.delivered_mark = std::max(old->delivered_mark, c->delivered_mark);
          merged.read_mark = std::max(old->read_mark, c->read_mark);
          merged.last_seq = std::max(old->last_seq, c->last_seq);
          merged.last_ts = std::max(old->last_ts, c->last_ts);
          if (old->title_seq > c->title_seq) {
            merged.title = old->title;
            merged.title_seq = old->title_seq;
          }
        }
        TERN_RETURN_IF_ERROR(txn.Put(key, history::EncodeChat(merged)));
        continue;
      }
      auto e = history::DecodeEntry(value);
      if (!e.ok()) return BadExport("bad message record");
      if (e->chat != *chat || e->chat_seq != history::SeqOfMsgKey(key)) return BadExport("message under the wrong key");
      ++result.messages;
      e->client_seq = 0;  // client seqs belong to the device that sent
      if (existing.value()) {
        auto old = history::DecodeEntry(*existing.value());
        if (!old.ok()) return old.status();
        const bool old_placeholder = old->kind == EntryKind::kMissed || old->kind == EntryKind::kExpired;
        const bool new_placeholder = e->kind == EntryKind::kMissed || e->kind == EntryKind::kExpired;
        if (!old_placeholder || new_placeholder) {
          if (e->status == MessageStatus::kFailed && old->status != MessageStatus::kFailed && old->outgoing) {
            old->status = MessageStatus::kFailed;  // the backup knows it expired
            old->failure = e->failure;
            TERN_RETURN_IF_ERROR(txn.Put(key, history::EncodeEntry(*old)));
          }
          continue;
        }
      }
      ++result.added;
      TERN_RETURN_IF_ERROR(txn.Put(key, history::EncodeEntry(*e)));
    }
    if (!rest.empty()) return BadExport("trailing bytes");
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return result;
}

}  // namespace tern::tools
