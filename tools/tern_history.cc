#include "tools/tern_history.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "tools/client/history_backup.h"
#include "tools/tern_cli.h"
#include "tools/tern_media.h"

namespace tern::tools {
namespace {

std::string ChatName(ChatId chat) {
  return chat.is_group() ? "group:" + std::to_string(chat.group_id) : "user:" + std::to_string(chat.peer_user);
}

std::string EntryLine(const HistoryMessage& e) {
  wire::InboxItem it;
  it.chat_seq = e.chat_seq;
  it.msg_id = e.msg_id;
  it.sender_user = e.from_user;
  it.to_user = e.chat.peer_user;
  it.group_id = e.chat.group_id;
  it.text = e.text;
  it.event = e.event;
  it.event_user = e.event_user;
  it.assets = e.assets;
  it.kind = e.kind == EntryKind::kGroupEvent ? wire::ItemKind::kGroupEvent
            : e.kind == EntryKind::kMissed   ? wire::ItemKind::kMissed
            : e.kind == EntryKind::kExpired  ? wire::ItemKind::kExpired
                                             : wire::ItemKind::kMessage;
  std::string line = ItemLine(it);
  if (e.chat_seq == 0) {
    size_t at = line.find("[0]");
    if (at != std::string::npos) line.replace(at, 3, "[-]");
  }
  if (e.status != MessageStatus::kNone && e.kind == EntryKind::kMessage) {
    line += std::string(" (") + MessageStatusName(e.status);
    if (e.status == MessageStatus::kFailed) line += std::string(": ") + CodeName(e.failure);
    line += ")";
  }
  return line;
}

// CHAT: group:ID, a user id, or +PHONE (resolved on the server).
Result<ChatId> ParseChat(Client& c, const std::string& s) {
  if (s.rfind("group:", 0) == 0) {
    char* end = nullptr;
    uint64_t id = std::strtoull(s.c_str() + 6, &end, 10);
    if (id == 0 || *end != '\0') return Status(Code::kInvalidArgument, "'" + s + "' is not group:ID");
    return ChatId::Group(id);
  }
  if (!s.empty() && s[0] == '+') {
    if (int rc = Connect(c)) return Status(Code::kUnavailable, "cannot resolve " + s + " (exit " + std::to_string(rc) + ")");
  }
  Result<uint64_t> id = Recipient(c, s);
  if (!id.ok()) return id.status();
  return ChatId::Direct(*id);
}

History* Need(Client& c) {
  if (c.history() == nullptr) Fail("history", Status(Code::kInvalidArgument, "no local history"));
  return c.history();
}

Result<std::string> ReadPassphrase(const std::string& file) {
  if (file.empty()) return Status(Code::kInvalidArgument, "--passphrase-file is required");
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) return Status(Code::kInvalidArgument, "cannot read a passphrase from " + file);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return Status(Code::kInvalidArgument, "the passphrase in " + file + " is empty");
  return line;
}

}  // namespace

int RunChats(Client& c) {
  History* h = Need(c);
  if (h == nullptr) return 1;
  auto chats = h->ListChats();
  if (!chats.ok()) return Fail("chats", chats.status());
  for (const ChatSummary& s : *chats) {
    std::string line = ChatName(s.chat);
    if (!s.title.empty()) line += " \"" + s.title + "\"";
    line += "  unread=" + std::to_string(s.unread);
    if (s.pending != 0) line += "  pending=" + std::to_string(s.pending);
    if (s.last) line += "  " + EntryLine(*s.last);
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

int RunHistory(Client& c, const HistoryArgs& a) {
  History* h = Need(c);
  if (h == nullptr) return 1;
  auto chat = ParseChat(c, a.chat);
  if (!chat.ok()) return Fail("history", chat.status());
  auto page = h->Messages(*chat, a.before, a.limit == 0 ? 50 : a.limit);
  if (!page.ok()) return Fail("history", page.status());
  for (const HistoryMessage& e : *page) std::printf("%s\n", EntryLine(e).c_str());
  return 0;
}

int RunSearch(Client& c, const HistoryArgs& a) {
  History* h = Need(c);
  if (h == nullptr) return 1;
  std::optional<ChatId> chat;
  if (!a.chat.empty()) {
    auto parsed = ParseChat(c, a.chat);
    if (!parsed.ok()) return Fail("search", parsed.status());
    chat = *parsed;
  }
  auto found = h->Search(a.text, chat, a.limit);
  if (!found.ok()) return Fail("search", found.status());
  for (const HistoryMessage& e : *found) std::printf("%s  %s\n", ChatName(e.chat).c_str(), EntryLine(e).c_str());
  return 0;
}

int RunBackup(Client& c, const HistoryArgs& a, const BlobOptions& blob, const std::string& work_path) {
  if (Need(c) == nullptr) return 1;
  auto pass = ReadPassphrase(a.passphrase_file);
  if (!pass.ok()) return Fail("backup", pass.status());
  BackupOptions o;
  if (a.kdf == "interactive") o.kdf = BackupKdf::Interactive();
  else if (a.kdf == "min") o.kdf = BackupKdf::Minimum();
  else if (a.kdf != "moderate") return Fail("backup", Status(Code::kInvalidArgument, "--kdf: moderate, interactive or min"));
  o.work_path = work_path;
  o.blob = blob;
  o.ack_timeout_ms = blob.io_timeout_ms;
  ProgressBar bar("backup upload", a.progress || ::isatty(2));
  o.blob.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total); };
  o.transfer.note = [&](const std::string& what) { bar.Note(what); };
  if (int rc = Connect(c)) return rc;
  auto r = BackupHistory(c, *pass, o);
  if (!r.ok()) return Fail("backup", r.status());
  std::printf("backup asset_id=%llu bytes=%llu chats=%llu messages=%llu\n", static_cast<unsigned long long>(r->asset_id),
              static_cast<unsigned long long>(r->bytes), static_cast<unsigned long long>(r->stats.chats),
              static_cast<unsigned long long>(r->stats.messages));
  std::printf("restore it on another device of this user with: tern restore %llu --passphrase-file FILE\n",
              static_cast<unsigned long long>(r->asset_id));
  c.Close();
  return 0;
}

int RunRestore(Client& c, const HistoryArgs& a, const BlobOptions& blob, const std::string& work_path) {
  if (Need(c) == nullptr) return 1;
  auto pass = ReadPassphrase(a.passphrase_file);
  if (!pass.ok()) return Fail("restore", pass.status());
  BackupOptions o;
  o.work_path = work_path;
  o.blob = blob;
  ProgressBar bar("backup download", a.progress || ::isatty(2));
  o.blob.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total); };
  o.transfer.note = [&](const std::string& what) { bar.Note(what); };
  if (int rc = Connect(c)) return rc;
  auto r = RestoreHistory(c, a.asset_id, *pass, o);
  if (!r.ok()) return Fail("restore", r.status());
  std::printf("restored asset %llu: %llu messages in %llu chats, %llu new\n",
              static_cast<unsigned long long>(a.asset_id), static_cast<unsigned long long>(r->imported.messages),
              static_cast<unsigned long long>(r->imported.chats), static_cast<unsigned long long>(r->imported.added));
  c.Close();
  return 0;
}

}  // namespace tern::tools
