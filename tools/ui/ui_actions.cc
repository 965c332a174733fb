// The command handlers of `tern ui` (tools/ui/ui_app.h): messages, chats, groups, files,
// devices. Each either changes the model at once (a send is pending from the moment it is
// typed) or, for requests that need the server, makes one bounded blocking call while online.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "tools/tern_cli.h"
#include "tools/tern_media.h"
#include "tools/ui/ui_app.h"

namespace tern::ui {
namespace {

std::string SafeName(const std::string& name) {
  std::string out;
  for (char c : name) out.push_back(c == '/' || c == '\0' ? '_' : c);
  if (out.empty() || out == "." || out == "..") out = "file";
  return out;
}

void MakeDirs(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i)
    if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0700);
}

}  // namespace

void UiApp::Execute(const Command& c) {
  using K = Command::Kind;
  switch (c.kind) {
    case K::kNone: return;
    case K::kInvalid: Info(c.error, true); return;
    case K::kText: SendText(c.text); return;
    case K::kChat: StartChat(c.text); return;
    case K::kGroupNew: GroupNew(c); return;
    case K::kGroupAdd: case K::kGroupRemove: case K::kGroupLeave: case K::kGroupRename: GroupChange(c); return;
    case K::kGroupInfo: GroupInfo(); return;
    case K::kFile: SendFile(c.text); return;
    case K::kOpen: OpenFile(c.number); return;
    case K::kLink: ShowLinkCode(); return;
    case K::kDevices: ShowDevices(); return;
    case K::kReconnect:
      rc_.ReconnectNow();
      Info("reconnecting");
      return;
    case K::kHelp:
      view_.panel_title = "Help";
      view_.panel = HelpLines();
      return;
    case K::kQuit: quit_ = true; return;
  }
}

Result<uint64_t> UiApp::Resolve(const std::string& who) {
  Result<uint64_t> id = tools::Recipient(*client_, who);
  if (id.ok() && who.starts_with("+")) model_.SetName(*id, who);
  return id;
}

void UiApp::SendText(const std::string& text) {
  if (!view_.open) {
    Info("no chat open: /chat +PHONE first", true);
    return;
  }
  const ChatKey key = *view_.open;
  Result<uint64_t> seq = key.is_group() ? client_->SendToGroup(key.group, text) : client_->Send(key.peer, text);
  if (!seq.ok()) {
    Info("not sent: " + seq.status().ToString(), true);
    return;
  }
  model_.OnSending(key, *seq, text, {}, NowMs());
  model_.Touch(key);
  view_.scroll = 0;
  // A person just acted: a good moment to retry the link instead of waiting for the backoff.
  if (!client_->authenticated()) rc_.ReconnectNow();
}

void UiApp::StartChat(const std::string& who) {
  if (!RequireOnline("/chat")) return;
  Result<uint64_t> id = Resolve(who);
  if (!id.ok()) {
    Info("/chat " + who + ": " + id.status().ToString(), true);
    return;
  }
  if (*id == model_.me()) {
    Info("that is you", true);
    return;
  }
  OpenChat(model_.Touch(ChatKey{*id, 0}));
  Info("chat with " + model_.NameOf(*id));
}

void UiApp::GroupNew(const Command& c) {
  if (!RequireOnline("/group new")) return;
  std::vector<uint64_t> ids;
  for (const std::string& who : c.args) {
    Result<uint64_t> id = Resolve(who);
    if (!id.ok()) {
      Info("/group new: " + who + ": " + id.status().ToString(), true);
      return;
    }
    ids.push_back(*id);
  }
  Result<wire::GroupInfo> g = client_->CreateGroup(c.text, ids);
  if (!g.ok()) {
    Info("/group new: " + g.status().ToString(), true);
    return;
  }
  model_.OnGroupInfo(*g, NowMs());
  // Show my own event at once (same chat seq); the copy the server also queues for this device
  // (PROTOCOL.md §3.10) is dropped as a duplicate when it arrives.
  wire::InboxItem created;
  created.kind = wire::ItemKind::kGroupEvent;
  created.group_id = g->group_id;
  created.sender_user = model_.me();
  created.event = wire::GroupOp::kCreate;
  created.chat_seq = g->chat_seq;
  created.text = g->name;
  created.server_ts_ms = NowMs();
  model_.OnItem(created, NowMs());
  OpenChat(model_.Touch(ChatKey{0, g->group_id}));
  Info("group " + g->name + " created");
}

void UiApp::GroupChange(const Command& c) {
  if (!view_.open || !view_.open->is_group()) {
    Info("open a group first", true);
    return;
  }
  if (!RequireOnline("/group")) return;
  using K = Command::Kind;
  const uint64_t group = view_.open->group;
  wire::GroupOp op = c.kind == K::kGroupAdd      ? wire::GroupOp::kAdd
                     : c.kind == K::kGroupRemove ? wire::GroupOp::kRemove
                     : c.kind == K::kGroupLeave  ? wire::GroupOp::kLeave
                                                 : wire::GroupOp::kRename;
  uint64_t user = 0;
  if (op == wire::GroupOp::kAdd || op == wire::GroupOp::kRemove) {
    Result<uint64_t> id = Resolve(c.text);
    if (!id.ok()) {
      Info("/group: " + c.text + ": " + id.status().ToString(), true);
      return;
    }
    user = *id;
  }
  Result<uint64_t> seq = client_->ChangeGroup(group, op, user, op == wire::GroupOp::kRename ? c.text : "");
  if (!seq.ok()) {
    Info("/group: " + seq.status().ToString(), true);
    return;
  }
  wire::InboxItem ev;  // as in GroupNew: shown now, the delivered copy is a duplicate
  ev.kind = wire::ItemKind::kGroupEvent;
  ev.group_id = group;
  ev.sender_user = model_.me();
  ev.event = op;
  ev.event_user = op == wire::GroupOp::kLeave ? model_.me() : user;
  ev.chat_seq = *seq;
  ev.text = op == wire::GroupOp::kRename ? c.text : "";
  ev.server_ts_ms = NowMs();
  model_.OnItem(ev, NowMs());
  Info("done");
}

void UiApp::GroupInfo() {
  if (!view_.open || !view_.open->is_group()) {
    Info("open a group first", true);
    return;
  }
  if (!RequireOnline("/group info")) return;
  Result<wire::GroupInfo> g = client_->GetGroup(view_.open->group);
  if (!g.ok()) {
    Info("/group info: " + g.status().ToString(), true);
    return;
  }
  model_.OnGroupInfo(*g, NowMs());
  view_.panel_title = "Group " + g->name + " (" + std::to_string(g->members.size()) + " members)";
  view_.panel.clear();
  for (const wire::GroupMember& m : g->members)
    view_.panel.push_back(model_.NameOf(m.user_id) + (m.admin ? "  admin" : ""));
}

void UiApp::SendFile(const std::string& path) {
  if (!view_.open) {
    Info("no chat open", true);
    return;
  }
  if (!RequireOnline("/file")) return;
  tools::TransferOptions t;
  t.upload_state = options_.upload_state;
  Result<tools::PreparedUpload> up = tools::PrepareUpload(*client_, path, tools::GuessMime(path), t);
  if (!up.ok()) {
    Info("/file: " + up.status().ToString(), true);
    return;
  }
  auto job = std::make_unique<TransferJob>();
  job->upload = true;
  job->chat = *view_.open;
  job->prepared = std::move(*up);
  const size_t slash = path.rfind('/');
  job->prepared.ref.name = slash == std::string::npos ? path : path.substr(slash + 1);
  job->total = job->prepared.ref.size;
  job->transfer_id = model_.StartTransfer(job->chat, true, job->prepared.ref.name, job->prepared.ref.size);
  TransferJob* j = job.get();
  tools::BlobOptions blob = options_.blob;
  blob.progress = [j](uint64_t done, uint64_t total) {
    j->done = done;
    j->total = total;
  };
  j->worker = std::thread([j, blob] {
    j->result = tools::TransferUpload(j->prepared, tools::TransferOptions{}, blob);
    j->finished = true;
  });
  jobs_.push_back(std::move(job));
}

void UiApp::OpenFile(int n) {
  if (!view_.open) {
    Info("no chat open", true);
    return;
  }
  const wire::AssetRef* ref = model_.FileOf(*view_.open, n);
  if (ref == nullptr) {
    Info("no file #" + std::to_string(n) + " in this chat", true);
    return;
  }
  const std::string dest = options_.files_dir + "/" + std::to_string(ref->asset_id) + "-" + SafeName(ref->name);
  struct stat st {};
  if (::stat(dest.c_str(), &st) == 0) {  // already downloaded (and checked)
    ShowFile(dest, *ref);
    return;
  }
  if (!RequireOnline("/open")) return;
  Result<wire::AssetTicket> ticket = client_->GetDownloadTicket(ref->asset_id);
  if (!ticket.ok()) {
    Info("/open: " + ticket.status().ToString(), true);
    return;
  }
  MakeDirs(options_.files_dir);
  auto job = std::make_unique<TransferJob>();
  job->upload = false;
  job->chat = *view_.open;
  job->ref = *ref;
  job->dest = dest;
  job->total = ticket->size;
  job->transfer_id = model_.StartTransfer(job->chat, false, ref->name, ticket->size);
  TransferJob* j = job.get();
  tools::BlobOptions blob = options_.blob;
  blob.progress = [j](uint64_t done, uint64_t total) {
    j->done = done;
    j->total = total;
  };
  j->worker = std::thread([j, blob, ticket = *ticket] {
    j->result = tools::TransferDownload(ticket, j->dest, tools::TransferOptions{}, blob);
    j->finished = true;
  });
  jobs_.push_back(std::move(job));
}

void UiApp::FinishTransfers() {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    TransferJob& j = **it;
    model_.OnTransferProgress(j.transfer_id, j.done, j.total);
    if (!j.finished) {
      if (j.done != 0) dirty_ = true;
      ++it;
      continue;
    }
    j.worker.join();
    dirty_ = true;
    if (!j.result.ok()) {
      model_.OnTransferDone(j.transfer_id, j.result, "");
    } else if (j.upload) {
      const ChatKey k = j.chat;
      Result<uint64_t> seq = client_->SendMedia(k.is_group() ? 0 : k.peer, k.group, {j.prepared.ref}, "");
      model_.OnTransferDone(j.transfer_id, seq.ok() ? Status::Ok() : seq.status(), "");
      if (seq.ok()) {
        model_.OnSending(k, *seq, "", {j.prepared.ref}, NowMs());
        model_.Touch(k);
        if (!options_.upload_state.empty()) std::remove(options_.upload_state.c_str());
      }
    } else {
      model_.OnTransferDone(j.transfer_id, Status::Ok(), j.dest);
      if (view_.open && *view_.open == j.chat) ShowFile(j.dest, j.ref);
    }
    it = jobs_.erase(it);
  }
}

void UiApp::ShowFile(const std::string& path, const wire::AssetRef& ref) {
  view_.panel_title = "File " + ref.name + " (" + ref.mime + ", " + std::to_string(ref.size) + " bytes)";
  view_.panel = {"saved to " + path, ""};
  // A text preview of the start; other types are named with their path (open them from there).
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  bool text = ref.mime.starts_with("text/") || head.find('\0') == std::string::npos;
  if (!text) {
    view_.panel.push_back("(binary file: no preview)");
  } else {
    size_t start = 0;
    for (int n = 0; n < 30 && start < head.size(); ++n) {
      size_t nl = head.find('\n', start);
      if (nl == std::string::npos) nl = head.size();
      view_.panel.push_back(head.substr(start, nl - start));
      start = nl + 1;
    }
  }
  dirty_ = true;
}

void UiApp::ShowLinkCode() {
  if (!RequireOnline("/link")) return;
  Result<wire::LinkCode> lc = client_->CreateLinkCode();
  if (!lc.ok()) {
    Info("/link: " + lc.status().ToString(), true);
    return;
  }
  view_.panel_title = "Link a new device";
  view_.panel = {"Link code: " + lc->code, "",
                 "On the new device run:  tern --state <its state file> link " + lc->code,
                 "The code works once and expires soon. /devices lists the linked devices."};
}

void UiApp::ShowDevices() {
  if (!RequireOnline("/devices")) return;
  Result<std::vector<wire::DeviceInfo>> list = client_->ListDevices();
  if (!list.ok()) {
    Info("/devices: " + list.status().ToString(), true);
    return;
  }
  view_.panel_title = "Devices (" + std::to_string(list->size()) + ")";
  view_.panel.clear();
  for (const wire::DeviceInfo& d : *list)
    view_.panel.push_back("#" + std::to_string(d.device_id) + "  " + d.name + "  " + (d.online ? "online" : "offline") +
                          (d.device_id == client_->state().device_id ? "  (this device)" : ""));
}

}  // namespace tern::ui
