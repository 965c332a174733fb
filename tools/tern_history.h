// `tern chats`, `tern history`, `tern search`, `tern backup`, `tern restore`: the local chat
// history (tools/client/history.h) from the command line. chats/history/search read the local
// database only (no network, except to resolve a +PHONE); backup/restore resume the device and
// move the encrypted history through the asset service (tools/client/history_backup.h).
//
// Output lines (one per entry) reuse `tern listen`'s form, plus the ticks of my messages:
//   [7] 42: hello (read)            [-] 42: not yet acked (pending)
// chats:   user:42  unread=2  [9] 17: see you         group:5 "Family"  unread=0  [3] * 17 added 18
// search:  user:42  [7] 42: hello
//
// Thread safety: one command per process.
#pragma once

#include <cstdint>
#include <string>

#include "tools/client/blob_client.h"
#include "tools/client/client.h"

namespace tern::tools {

struct HistoryArgs {
  std::string chat;             // history / search --chat: +PHONE, user id or group:ID
  std::string text;             // search
  size_t limit = 0;             // history: 50 by default; search: 100
  uint64_t before = 0;          // history: page older than this chat seq
  std::string passphrase_file;  // backup / restore: first line = the passphrase
  std::string kdf = "moderate"; // backup: moderate, interactive, or min (tests only)
  uint64_t asset_id = 0;        // restore
  bool progress = false;        // progress bar even when stderr is not a terminal
};

int RunChats(Client& c);
int RunHistory(Client& c, const HistoryArgs& a);
int RunSearch(Client& c, const HistoryArgs& a);
// `work_path`: where the encrypted container sits while it moves (removed afterwards).
int RunBackup(Client& c, const HistoryArgs& a, const BlobOptions& blob, const std::string& work_path);
int RunRestore(Client& c, const HistoryArgs& a, const BlobOptions& blob, const std::string& work_path);

}  // namespace tern::tools
