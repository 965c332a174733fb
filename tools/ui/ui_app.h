// UiApp: the controller and event loop of the interactive client (`tern ui`).
//
// One thread runs the loop; each turn it (1) reads every key already typed (waiting at most
// kKeyWaitMs for the first), (2) polls the ReconnectingClient (tools/client/reconnecting_client.h)
// for at most kNetPollMs -- it reconnects with backoff after drops, and sends stored while
// offline go out in order after the resume --, (3) copies what changed into the ChatModel
// (SendAcks of pending sends, presence, group info replies, connection state) and sends read
// marks for the open chat, and (4) redraws when something changed (and once a second, for the
// clock). Inbox items reach the model through the SDK's item callback as they arrive.
// A reconnect attempt may block for up to the Client's io_timeout_ms; keys typed meanwhile
// are buffered by the terminal and handled afterwards.
//
// Requests that need an answer (/chat resolves a phone, /group, /link, /devices, file
// tickets) use the Client's blocking calls, bounded by io_timeout_ms, and only while online;
// offline, they fail at once with a message in the status bar. Messages can always be typed:
// they are stored durably by the SDK, shown as pending, and go out on reconnect.
// File bytes move on a worker thread per transfer (TransferUpload / TransferDownload of
// tools/client/asset_transfer.h, which use no Client), so the screen and the chat stay live; the loop
// reads their progress from atomics and finishes them (SendMedia, or showing the file).
//
// Message text never goes to a log: the UI prints nothing while the terminal is in curses
// mode, and errors name only ids, paths and status codes.
//
// Thread safety: RunUi owns everything; transfer workers share only their TransferJob.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tools/client/blob_client.h"
#include "tools/client/client.h"
#include "tools/client/reconnecting_client.h"
#include "tools/client/asset_transfer.h"
#include "tools/ui/chat_model.h"
#include "tools/ui/commands.h"
#include "tools/ui/screen.h"
#include "tools/ui/terminal.h"

namespace tern::ui {

struct UiOptions {
  tools::Client::Options client;
  tools::BlobOptions blob;  // TLS settings for https blob URLs, io timeout
  std::string files_dir;     // where /open saves received files (created on demand)
  std::string upload_state;  // an unfinished upload remembered across runs (<state>.upload)
  bool ascii = false;        // ASCII glyphs even on a UTF-8 terminal
  uint32_t backoff_max_ms = 10000;  // reconnect attempts at least this often (interactive)
};

// Runs the full-screen client until /quit, Ctrl-C, SIGTERM or SIGHUP. Returns the exit code
// (0; 1 when the device is not registered, was unlinked, or the state cannot be loaded; the
// reason is printed on stderr after the terminal is restored).
int RunUi(const UiOptions& options);

// A file transfer on a worker thread.
struct TransferJob {
  uint64_t transfer_id = 0;  // ChatModel transfer
  bool upload = true;
  ChatKey chat;
  tools::PreparedUpload prepared;  // upload
  wire::AssetRef ref;              // download: what is fetched
  std::string dest;                // download: the saved file
  std::atomic<uint64_t> done{0}, total{0};
  std::atomic<bool> finished{false};
  Status result;                   // valid once finished
  std::thread worker;
};

class UiApp {
 public:
  UiApp(const UiOptions& options, tools::Client* client, Terminal* terminal);
  ~UiApp();  // joins transfer workers
  // The loop; returns when the user quits or a stop signal arrived. Errors: a permanent
  // connection failure (unlinked device).
  Status Run();

 private:
  static constexpr int kKeyWaitMs = 25;
  static constexpr int kNetPollMs = 25;

  uint64_t NowMs() const;  // wall clock (message times, presence)
  void OnKey(uint32_t ch, bool key_code);
  void Sync();
  void SyncReplies();
  void OpenChat(ChatKey key);
  void MoveSelection(int delta);
  void Info(std::string text, bool error = false);
  bool RequireOnline(const char* what);
  // ui_actions.cc: one handler per command.
  void Execute(const Command& c);
  void SendText(const std::string& text);
  void StartChat(const std::string& who);
  void GroupNew(const Command& c);
  void GroupChange(const Command& c);
  void GroupInfo();
  void SendFile(const std::string& path);
  void OpenFile(int n);
  void ShowFile(const std::string& path, const wire::AssetRef& ref);
  void ShowLinkCode();
  void ShowDevices();
  void FinishTransfers();
  Result<uint64_t> Resolve(const std::string& who);

  UiOptions options_;
  tools::Client* client_;
  Terminal* terminal_;
  tools::ReconnectingClient rc_;
  ChatModel model_;
  Screen screen_;
  ViewState view_;
  bool dirty_ = true;
  bool quit_ = false;
  Status permanent_;
  uint64_t last_render_ms_ = 0;
  uint64_t presence_seen_ = 0;
  std::vector<uint64_t> watching_;
  // Outstanding non-blocking requests: req_id -> (kind, group id for GetGroup).
  std::map<uint32_t, std::pair<int, uint64_t>> requests_;
  std::vector<std::unique_ptr<TransferJob>> jobs_;
};

}  // namespace tern::ui
