// Keys and record encodings of the local history (the layout is listed in
// tools/client/history.h). Internal to History and its backup; not an API for apps.
//
// Values are a version byte (1) followed by varints and length-prefixed byte strings; decoding
// checks every length against the remaining input first and fails with kCorrupt (never reads
// past the end, never allocates more than the input holds).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tools/client/history.h"
#include "wire/status.h"

namespace tern::tools::history {

inline constexpr std::string_view kMetaKey{"\0meta", 5};
inline constexpr std::string_view kMagic = "tern-history";
inline constexpr std::string_view kExportMagic = "TERNHIST";
inline constexpr uint32_t kExportVersion = 1;

std::string ChatBytes(ChatId chat);  // 'u' or 'g' + 8 bytes big-endian
std::string ChatKey(ChatId chat);    // 'c' + ChatBytes
std::string MsgPrefix(ChatId chat);  // 'm' + ChatBytes
std::string MsgKey(ChatId chat, uint64_t chat_seq);
std::string PendingKey(uint64_t client_seq);  // 'p' + 8 bytes
std::string SentKey(uint64_t client_seq);     // 's' + 8 bytes
// The chat of a 'c' or 'm' key (and the chat_seq of an 'm' key). Errors: kCorrupt.
Result<ChatId> ChatOfKey(std::string_view key);
uint64_t SeqOfMsgKey(std::string_view key);  // precondition: a valid 'm' key
std::string PutBig64(uint64_t v);

struct Meta {
  uint32_t version = kHistorySchemaVersion;
  uint64_t owner = 0;
};
std::string EncodeMeta(const Meta& m);
// Errors: kInvalidArgument (no Tern history magic), kCorrupt (unknown version).
Result<Meta> DecodeMeta(std::string_view v);

struct ChatRecord {
  uint64_t read_seq = 0;        // my read position
  uint64_t delivered_mark = 0;  // highest delivered mark of another member
  uint64_t read_mark = 0;       // highest read mark of another member
  uint64_t last_seq = 0;        // highest chat_seq stored
  uint64_t last_ts = 0;         // server time of the newest entry
  std::string title;            // groups: the latest name
  uint64_t title_seq = 0;       // chat_seq of the event that set the title
};
std::string EncodeChat(const ChatRecord& c);
Result<ChatRecord> DecodeChat(std::string_view v);

// Entries ('m' and 'p' values). The stored status is kSent for acknowledged outgoing messages
// (ticks are derived from the chat's marks when read), kPending/kFailed for 'p' records.
std::string EncodeEntry(const HistoryMessage& e);
Result<HistoryMessage> DecodeEntry(std::string_view v);

// 's' values: where an acknowledged send landed.
std::string EncodeSentRef(ChatId chat, uint64_t chat_seq);
Result<std::pair<ChatId, uint64_t>> DecodeSentRef(std::string_view v);

// Case-insensitive, UTF-8 aware substring test (see History::Search).
bool ContainsFolded(std::string_view haystack, const std::u32string& folded_needle);
std::u32string FoldUtf8(std::string_view s);

}  // namespace tern::tools::history
