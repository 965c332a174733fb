#include "tools/ui/ui_history.h"

namespace tern::ui {
namespace {

Tick TickOf(tools::MessageStatus s) {
  switch (s) {
    case tools::MessageStatus::kSent: return Tick::kSent;
    case tools::MessageStatus::kDelivered: return Tick::kDelivered;
    case tools::MessageStatus::kRead: return Tick::kSeen;
    case tools::MessageStatus::kPending: return Tick::kPending;
    case tools::MessageStatus::kFailed: return Tick::kFailed;
    case tools::MessageStatus::kNone: break;
  }
  return Tick::kNone;
}

ChatMessage ToMessage(const tools::HistoryMessage& h) {
  ChatMessage m;
  m.chat_seq = h.chat_seq;
  m.client_seq = h.client_seq;
  m.sender = h.from_user;
  m.mine = h.outgoing;
  m.ts_ms = h.server_ts_ms;
  m.text = h.text;
  m.assets = h.assets;
  m.stored_tick = TickOf(h.status);
  switch (h.kind) {
    case tools::EntryKind::kMessage: break;
    case tools::EntryKind::kGroupEvent:
      m.kind = ChatMessage::Kind::kGroupEvent;
      m.event = h.event;
      m.event_user = h.event_user;
      break;
    case tools::EntryKind::kMissed:
      m.kind = ChatMessage::Kind::kNotice;
      m.text = "(a message expired before it reached you)";
      break;
    case tools::EntryKind::kExpired:
      m.kind = ChatMessage::Kind::kNotice;
      m.text = "(your message expired undelivered)";
      break;
  }
  if (h.status == tools::MessageStatus::kFailed) m.refused = h.failure == Code::kOk ? Code::kInternal : h.failure;
  return m;
}

}  // namespace

Status PreloadFromHistory(tools::History& history, ChatModel& model, size_t max_chats, size_t per_chat) {
  auto chats = history.ListChats(max_chats);
  if (!chats.ok()) return chats.status();
  std::vector<ChatModel::PreloadChat> pcs;
  std::vector<ChatModel::PreloadMessage> pms;
  // ListChats is newest first; preload oldest first so the model's activity order matches.
  for (auto it = chats->rbegin(); it != chats->rend(); ++it) {
    const ChatKey key{it->chat.peer_user, it->chat.group_id};
    ChatModel::PreloadChat pc;
    pc.key = key;
    pc.title = it->title;
    pc.my_read = it->read_seq;
    pcs.push_back(pc);
    auto msgs = history.Messages(it->chat, 0, per_chat);
    if (!msgs.ok()) return msgs.status();
    for (const tools::HistoryMessage& h : *msgs) {
      if (h.chat_seq == 0 && h.status != tools::MessageStatus::kFailed) continue;  // pending: from the state
      if (h.chat_seq == 0) {
        // A refused send has no place in the chat order: show it as a failed line at the end.
        ChatMessage m = ToMessage(h);
        m.client_seq = 0;
        pms.push_back({key, std::move(m)});
        continue;
      }
      pms.push_back({key, ToMessage(h)});
    }
  }
  model.Preload(pcs, pms);
  return Status::Ok();
}

}  // namespace tern::ui
