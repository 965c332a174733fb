// The event loop of `tern ui` (tools/ui/ui_app.h); the command handlers are in ui_actions.cc.
#include "tools/ui/ui_app.h"
#include "tools/ui/ui_history.h"

#include <ncurses.h>

#include <chrono>
#include <cstdio>
#include <set>

namespace tern::ui {
namespace {

enum RequestKind { kGetGroup = 1, kReadMark = 2 };

tools::ReconnectingClient::Options ReconnectOptions(const UiOptions& o) {
  tools::ReconnectingClient::Options r;
  // A person is watching: retry at least every backoff_max_ms rather than the SDK's minute.
  r.policy.backoff_max_ms = o.backoff_max_ms;
  return r;
}

void AppendUtf8(std::string* s, uint32_t cp) {
  if (cp < 0x80) {
    s->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void PopUtf8(std::string* s) {
  while (!s->empty()) {
    const unsigned char c = static_cast<unsigned char>(s->back());
    s->pop_back();
    if ((c & 0xC0) != 0x80) return;  // removed a lead byte (or ASCII)
  }
}

}  // namespace

UiApp::UiApp(const UiOptions& options, tools::Client* client, Terminal* terminal)
    : options_(options),
      client_(client),
      terminal_(terminal),
      rc_(client, ReconnectOptions(options)),
      model_(client->state().user_id),
      screen_(options.ascii || !terminal->utf8()) {
  screen_.Init();
  view_.me = "user " + std::to_string(client->state().user_id) + " device " +
             std::to_string(client->state().device_id);
  // History seam: the device's local history (filled by the SDK on every run) gives the chat
  // list and recent messages; live events continue from there.
  if (client->history() != nullptr) {
    if (Status st = PreloadFromHistory(*client->history(), model_); !st.ok())
      Info("history: " + st.ToString(), true);
  }
  // Sends stored by an earlier run (or typed offline before a crash) show as pending and go
  // out after the first resume.
  for (const tools::PendingSend& p : client->state().unacked) {
    ChatKey key = p.group_id != 0 ? ChatKey{0, p.group_id} : ChatKey{p.to_user, 0};
    model_.OnSending(key, p.client_seq, p.text, p.assets, NowMs());
  }
  client->core().set_item_callback([this](const wire::InboxItem& it) {
    model_.OnItem(it, NowMs());
    dirty_ = true;
  });
  if (auto list = model_.ChatList(); !list.empty()) view_.open = list.front()->key;
}

UiApp::~UiApp() {
  for (auto& j : jobs_)
    if (j->worker.joinable()) j->worker.join();
  client_->core().set_item_callback(nullptr);
}

uint64_t UiApp::NowMs() const {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

void UiApp::Info(std::string text, bool error) {
  view_.info = std::move(text);
  view_.info_is_error = error;
  dirty_ = true;
}

bool UiApp::RequireOnline(const char* what) {
  if (client_->authenticated()) return true;
  Info(std::string("offline: ") + what + " needs the server; try again when ONLINE", true);
  return false;
}

Status UiApp::Run() {
  screen_.Render(model_, view_, NowMs());  // "CONNECTING" before the first (blocking) attempt
  while (!quit_ && !Terminal::stop_requested()) {
    uint32_t ch = 0;
    bool key_code = false;
    if (terminal_->ReadKey(kKeyWaitMs, &ch, &key_code)) {
      do {
        OnKey(ch, key_code);
      } while (!quit_ && terminal_->ReadKey(0, &ch, &key_code));
    }
    if (quit_ || Terminal::stop_requested()) break;
    if (permanent_.ok()) {
      Status st = rc_.Poll(kNetPollMs);
      if (!st.ok()) {
        permanent_ = st;
        Info("this device can no longer connect: " + st.ToString(), true);
      }
    }
    Sync();
    const uint64_t now = NowMs();
    if (dirty_ || now - last_render_ms_ >= 1000) {
      screen_.Render(model_, view_, now);
      last_render_ms_ = now;
      dirty_ = false;
    }
  }
  if (client_->connected()) client_->Close();  // flushes the last InboxAck
  return permanent_;
}

void UiApp::OnKey(uint32_t ch, bool key_code) {
  dirty_ = true;
  if (key_code) {
    switch (ch) {
      case KEY_UP: MoveSelection(-1); return;
      case KEY_DOWN: MoveSelection(1); return;
      case KEY_BTAB: MoveSelection(-1); return;
      case KEY_PPAGE: view_.scroll += 10; return;
      case KEY_NPAGE: view_.scroll = std::max(0, view_.scroll - 10); return;
      case KEY_BACKSPACE: PopUtf8(&view_.input); return;
      case KEY_ENTER: break;
      case KEY_RESIZE: return;
      default: return;
    }
  }
  switch (ch) {
    case '\r': case '\n': case KEY_ENTER: {
      const std::string line = view_.input;
      view_.input.clear();
      Execute(ParseCommand(line));
      return;
    }
    case '\t': MoveSelection(1); return;
    case 127: case 8: PopUtf8(&view_.input); return;
    case 21: view_.input.clear(); return;  // Ctrl-U
    case 27:  // Esc: close the panel, else clear the line
      if (!view_.panel_title.empty()) {
        view_.panel_title.clear();
        view_.panel.clear();
      } else {
        view_.input.clear();
      }
      return;
    default:
      if (ch >= 32) AppendUtf8(&view_.input, ch);
  }
}

void UiApp::OpenChat(ChatKey key) {
  view_.open = key;
  view_.scroll = 0;
  view_.panel_title.clear();
  view_.panel.clear();
  dirty_ = true;
}

void UiApp::MoveSelection(int delta) {
  const auto list = model_.ChatList();
  if (list.empty()) return;
  int at = 0;
  for (size_t i = 0; i < list.size(); ++i)
    if (view_.open && list[i]->key == *view_.open) at = static_cast<int>(i);
  const int n = static_cast<int>(list.size());
  OpenChat(list[((at + delta) % n + n) % n]->key);
}

void UiApp::Sync() {
  const uint64_t now = NowMs();
  const auto& rcc = rc_.counters();
  const Connection conn = client_->authenticated()                    ? Connection::kOnline
                          : rcc.connects == 0 && rcc.connect_failures == 0 ? Connection::kConnecting
                                                                           : Connection::kOffline;
  if (conn != model_.connection()) {
    model_.OnConnection(conn, now);
    dirty_ = true;
    if (conn != Connection::kOnline) {
      // Answers to requests of the lost connection will not come: ask again later.
      for (const auto& [req, what] : requests_)
        if (what.first == kGetGroup) model_.FetchFailed(what.second);
      requests_.clear();
    } else {
      watching_.clear();  // the server forgot the subscription with the connection
      // Read marks sent just before a drop may be lost; they are idempotent, so repeat them.
      for (const Chat* c : model_.ChatList())
        if (c->my_read != 0)
          requests_[client_->core().Request(wire::ReadMark{0, c->key.peer, c->key.group, c->my_read})] = {kReadMark, 0};
    }
  }
  view_.connection_detail = conn == Connection::kOffline && !permanent_.ok() ? "stopped" : "";
  // SendAcks of pending sends (a send stays in the state's unacked list until its final ack).
  std::set<uint64_t> unacked;
  for (const tools::PendingSend& p : client_->state().unacked) unacked.insert(p.client_seq);
  for (uint64_t seq : model_.PendingSends()) {
    if (unacked.count(seq) != 0) continue;
    if (const wire::SendAck* ack = client_->core().ack_for(seq)) {
      model_.OnAck(*ack, now);
      dirty_ = true;
    }
  }
  if (client_->counters().presence_updates != presence_seen_) {
    presence_seen_ = client_->counters().presence_updates;
    for (const auto& [user, p] : client_->core().presence()) model_.OnPresence(p);
    dirty_ = true;
  }
  if (conn == Connection::kOnline) {
    std::vector<uint64_t> people = model_.People();
    if (people != watching_) {
      client_->core().Watch(people);
      watching_ = people;
    }
    for (uint64_t g : model_.GroupsToFetch()) {
      model_.FetchAsked(g);
      requests_[client_->core().Request(wire::GetGroup{0, g})] = {kGetGroup, g};
    }
    if (view_.open && view_.panel_title.empty()) {
      if (std::optional<uint64_t> seq = model_.MarkRead(*view_.open)) {
        requests_[client_->core().Request(wire::ReadMark{0, view_.open->peer, view_.open->group, *seq})] = {kReadMark, 0};
        // The history's read position too (Client::MarkRead would wait for the reply; a
        // lost mark is sent again after the next reconnect).
        if (tools::History* h = client_->history())
          h->MarkRead(tools::ChatId{view_.open->peer, view_.open->group}, *seq).IgnoreError();
        dirty_ = true;
      }
    }
    SyncReplies();
  }
  FinishTransfers();
}

void UiApp::SyncReplies() {
  for (auto it = requests_.begin(); it != requests_.end();) {
    std::optional<wire::Message> reply = client_->core().TakeReply(it->first);
    if (!reply) {
      ++it;
      continue;
    }
    if (const auto* g = std::get_if<wire::GroupInfo>(&*reply); g != nullptr && g->status == Code::kOk) {
      model_.OnGroupInfo(*g, NowMs());
      dirty_ = true;
    }
    it = requests_.erase(it);
  }
}

int RunUi(const UiOptions& options) {
  Result<std::unique_ptr<tools::Client>> created = tools::Client::Create(options.client);
  if (!created.ok()) {
    std::fprintf(stderr, "tern: state %s: %s\n", options.client.state_path.c_str(),
                 created.status().ToString().c_str());
    return 1;
  }
  tools::Client& c = **created;
  if (!c.state().registered()) {
    std::fprintf(stderr, "tern: not registered (state %s): run `tern request-code PHONE` and `tern verify PHONE CODE`"
                         " (or `tern link CODE`) first\n", options.client.state_path.c_str());
    return 1;
  }
  Status st;
  {
    Terminal term;
    UiApp app(options, &c, &term);
    st = app.Run();
  }  // the terminal is restored here, before anything is printed
  if (!st.ok()) {
    std::fprintf(stderr, "tern: ui: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace tern::ui
