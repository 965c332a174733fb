#include "tools/ui/chat_model.h"

#include <algorithm>

namespace tern::ui {

Chat& ChatModel::ChatFor(ChatKey key) {
  auto [it, fresh] = chats_.try_emplace(key);
  if (fresh) it->second.key = key;
  return it->second;
}

ChatKey ChatModel::Touch(ChatKey key) {
  ChatFor(key).activity = ++activity_;
  return key;
}

ChatKey ChatModel::KeyOf(const wire::InboxItem& it) const {
  if (it.group_id != 0) return ChatKey{0, it.group_id};
  // 1:1: the other side of (sender, to); my own items (other devices, receipts) name the peer
  // in to_user.
  return ChatKey{it.sender_user == me_ ? it.to_user : it.sender_user, 0};
}

void ChatModel::Insert(Chat& chat, ChatMessage m) {
  if (m.file_numbers.size() != m.assets.size()) {
    m.file_numbers.clear();
    for (size_t i = 0; i < m.assets.size(); ++i) m.file_numbers.push_back(chat.next_file++);
  }
  auto& v = chat.messages;
  if (m.chat_seq != 0)
    for (const ChatMessage& old : v)
      if (old.chat_seq == m.chat_seq) return;  // already there (preloaded, or a replay)
  const uint64_t key = SortKey(m);
  auto pos = std::find_if(v.begin(), v.end(), [&](const ChatMessage& o) { return SortKey(o) > key; });
  v.insert(pos, std::move(m));
}

uint64_t ChatModel::SortKey(const ChatMessage& m) {
  if (m.kind == ChatMessage::Kind::kNotice && m.chat_seq == 0) return 2 * m.after_seq + 1;
  if (m.chat_seq == 0) return UINT64_MAX;  // pending: after everything, in client seq order
  return 2 * m.chat_seq;
}

void ChatModel::Preload(const std::vector<PreloadChat>& chats, const std::vector<PreloadMessage>& messages) {
  for (const PreloadChat& p : chats) {
    Chat& c = ChatFor(p.key);
    if (!p.title.empty()) c.title = p.title;
    for (uint64_t m : p.members)
      if (m != me_) c.members.insert(m);
    if (!p.members.empty()) c.members_known = true;
    c.my_read = std::max(c.my_read, p.my_read);
    for (const auto& [user, marks] : p.marks) {
      Chat::Marks& mine = c.marks[user];
      mine.delivered = std::max(mine.delivered, marks.delivered);
      mine.read = std::max(mine.read, marks.read);
    }
    if (c.activity == 0) c.activity = ++activity_;
  }
  for (const PreloadMessage& p : messages) {
    Chat& c = ChatFor(p.key);
    Insert(c, p.message);
    c.activity = ++activity_;
  }
}

void ChatModel::OnItem(const wire::InboxItem& it, uint64_t now_ms) {
  if (it.kind == wire::ItemKind::kReceipt) {
    OnReceipt(it);
    return;
  }
  const ChatKey key = it.kind == wire::ItemKind::kExpired ? ChatKey{it.to_user, it.group_id} : KeyOf(it);
  Chat& chat = ChatFor(key);
  ChatMessage m;
  m.chat_seq = it.chat_seq;
  m.sender = it.sender_user;
  m.mine = it.sender_user == me_;
  m.ts_ms = it.server_ts_ms != 0 ? it.server_ts_ms : now_ms;
  switch (it.kind) {
    case wire::ItemKind::kMessage:
      m.text = it.text;
      m.assets = it.assets;
      break;
    case wire::ItemKind::kGroupEvent:
      m.kind = ChatMessage::Kind::kGroupEvent;
      m.text = it.text;
      m.event = it.event;
      m.event_user = it.event_user;
      OnGroupEvent(chat, it);
      break;
    case wire::ItemKind::kExpired:
      // A notice about my message, outside the chat order (its chat seq is the message's).
      m.kind = ChatMessage::Kind::kNotice;
      m.chat_seq = 0;
      m.mine = false;
      m.text = "(your message " + std::to_string(it.msg_id) + " expired undelivered)";
      AddNotice(key, m.text, now_ms);
      return;
    case wire::ItemKind::kMissed:
      m.kind = ChatMessage::Kind::kNotice;
      m.text = "(a message expired before it reached you)";
      break;
    case wire::ItemKind::kReceipt:
      break;
  }
  Insert(chat, std::move(m));
  chat.activity = ++activity_;
}

void ChatModel::OnGroupEvent(Chat& chat, const wire::InboxItem& it) {
  switch (it.event) {
    case wire::GroupOp::kCreate:
    case wire::GroupOp::kRename:
      chat.title = it.text;
      if (it.sender_user != me_) chat.members.insert(it.sender_user);
      break;
    case wire::GroupOp::kAdd:
      if (it.event_user == me_) {
        chat.left = false;
        chat.members_known = false;  // I was added: learn the rest from GetGroup
        fetch_asked_.erase(chat.key.group);
      } else {
        chat.members.insert(it.event_user);
      }
      break;
    case wire::GroupOp::kRemove:
    case wire::GroupOp::kLeave: {
      const uint64_t who = it.event == wire::GroupOp::kLeave && it.event_user == 0 ? it.sender_user : it.event_user;
      if (who == me_) chat.left = true;
      chat.members.erase(who);
      chat.marks.erase(who);
      break;
    }
    case wire::GroupOp::kPromote:
    case wire::GroupOp::kDemote:
    case wire::GroupOp::kNone:
      break;
  }
}

void ChatModel::OnReceipt(const wire::InboxItem& it) {
  Chat& chat = ChatFor(KeyOf(it));
  if (it.sender_user == me_) {  // my other device read the chat
    if (it.receipt == wire::ReceiptType::kRead) chat.my_read = std::max(chat.my_read, it.chat_seq);
    return;
  }
  Chat::Marks& m = chat.marks[it.sender_user];
  if (it.receipt == wire::ReceiptType::kRead) m.read = std::max(m.read, it.chat_seq);
  m.delivered = std::max({m.delivered, m.read, it.chat_seq});
}

void ChatModel::OnSending(ChatKey key, uint64_t client_seq, std::string text, std::vector<wire::AssetRef> assets,
                          uint64_t now_ms) {
  if (pending_.count(client_seq) != 0) return;
  Chat& chat = ChatFor(key);
  ChatMessage m;
  m.client_seq = client_seq;
  m.sender = me_;
  m.mine = true;
  m.ts_ms = now_ms;
  m.text = std::move(text);
  m.assets = std::move(assets);
  Insert(chat, std::move(m));
  chat.activity = ++activity_;
  pending_[client_seq] = key;
}

void ChatModel::OnAck(const wire::SendAck& ack, uint64_t now_ms) {
  (void)now_ms;
  auto p = pending_.find(ack.client_seq);
  if (p == pending_.end()) return;
  Chat& chat = ChatFor(p->second);
  pending_.erase(p);
  auto& v = chat.messages;
  auto it = std::find_if(v.begin(), v.end(), [&](const ChatMessage& m) { return m.client_seq == ack.client_seq; });
  if (it == v.end()) return;
  if (ack.status != Code::kOk) {
    it->refused = ack.status;
    return;
  }
  ChatMessage m = std::move(*it);
  v.erase(it);
  m.chat_seq = ack.chat_seq;
  if (ack.server_ts_ms != 0) m.ts_ms = ack.server_ts_ms;
  Insert(chat, std::move(m));
}

void ChatModel::OnGroupInfo(const wire::GroupInfo& g, uint64_t now_ms) {
  (void)now_ms;
  Chat& chat = ChatFor(ChatKey{0, g.group_id});
  chat.title = g.name;
  chat.members.clear();
  bool in = false;
  for (const wire::GroupMember& m : g.members) {
    if (m.user_id == me_) in = true;
    else chat.members.insert(m.user_id);
  }
  chat.left = !in;
  chat.members_known = true;
  if (chat.activity == 0) chat.activity = ++activity_;
}

void ChatModel::OnConnection(Connection c, uint64_t now_ms) {
  if (c == connection_) return;
  connection_ = c;
  connection_since_ms_ = now_ms;
}

void ChatModel::AddNotice(ChatKey key, std::string text, uint64_t now_ms) {
  Chat& chat = ChatFor(key);
  ChatMessage m;
  m.kind = ChatMessage::Kind::kNotice;
  m.ts_ms = now_ms;
  m.text = std::move(text);
  for (const ChatMessage& o : chat.messages) m.after_seq = std::max(m.after_seq, o.chat_seq);
  Insert(chat, std::move(m));
}

std::optional<uint64_t> ChatModel::MarkRead(ChatKey key) {
  auto c = chats_.find(key);
  if (c == chats_.end()) return std::nullopt;
  uint64_t newest = 0;
  bool unread = false;
  for (const ChatMessage& m : c->second.messages) {
    newest = std::max(newest, m.chat_seq);
    if (!m.mine && m.chat_seq > c->second.my_read) unread = true;
  }
  if (!unread) return std::nullopt;
  c->second.my_read = newest;
  return newest;
}

uint64_t ChatModel::StartTransfer(ChatKey chat, bool upload, std::string name, uint64_t total) {
  Transfer t;
  t.id = next_transfer_++;
  t.upload = upload;
  t.chat = chat;
  t.name = std::move(name);
  t.total = total;
  transfers_[t.id] = t;
  return t.id;
}

void ChatModel::OnTransferProgress(uint64_t id, uint64_t done, uint64_t total) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  it->second.done = done;
  if (total != 0) it->second.total = total;
}

void ChatModel::OnTransferDone(uint64_t id, const Status& result, std::string detail) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  Transfer& t = it->second;
  t.state = result.ok() ? Transfer::State::kDone : Transfer::State::kFailed;
  if (result.ok()) t.done = t.total;
  t.detail = result.ok() ? std::move(detail) : result.ToString();
}

const Transfer* ChatModel::transfer(uint64_t id) const {
  auto it = transfers_.find(id);
  return it == transfers_.end() ? nullptr : &it->second;
}

std::vector<const Transfer*> ChatModel::TransfersOf(ChatKey chat) const {
  std::vector<const Transfer*> out;
  for (const auto& [id, t] : transfers_)
    if (t.chat == chat) out.push_back(&t);
  return out;
}

const wire::AssetRef* ChatModel::FileOf(ChatKey key, int n) const {
  const Chat* c = chat(key);
  if (c == nullptr) return nullptr;
  for (const ChatMessage& m : c->messages)
    for (size_t i = 0; i < m.assets.size() && i < m.file_numbers.size(); ++i)
      if (m.file_numbers[i] == n) return &m.assets[i];
  return nullptr;
}

const Chat* ChatModel::chat(ChatKey key) const {
  auto it = chats_.find(key);
  return it == chats_.end() ? nullptr : &it->second;
}

std::vector<const Chat*> ChatModel::ChatList() const {
  std::vector<const Chat*> out;
  for (const auto& [key, c] : chats_) out.push_back(&c);
  std::stable_sort(out.begin(), out.end(), [](const Chat* a, const Chat* b) { return a->activity > b->activity; });
  return out;
}

Tick ChatModel::TickOf(const Chat& chat, const ChatMessage& m) const {
  if (!m.mine || m.kind != ChatMessage::Kind::kText) return Tick::kNone;
  if (m.refused != Code::kOk) return Tick::kFailed;
  if (m.chat_seq == 0) return Tick::kPending;
  const Tick live = LiveTick(chat, m);
  return m.stored_tick > live && m.stored_tick != Tick::kFailed ? m.stored_tick : live;
}

Tick ChatModel::LiveTick(const Chat& chat, const ChatMessage& m) const {
  std::vector<uint64_t> others;
  if (chat.key.is_group()) others.assign(chat.members.begin(), chat.members.end());
  else others.push_back(chat.key.peer);
  if (others.empty()) return Tick::kSent;
  bool delivered = true, seen = true;
  for (uint64_t u : others) {
    auto it = chat.marks.find(u);
    const Chat::Marks mk = it == chat.marks.end() ? Chat::Marks{} : it->second;
    if (std::max(mk.delivered, mk.read) < m.chat_seq) delivered = false;
    if (mk.read < m.chat_seq) seen = false;
  }
  return seen ? Tick::kSeen : delivered ? Tick::kDelivered : Tick::kSent;
}

int ChatModel::Unread(const Chat& chat) const {
  int n = 0;
  for (const ChatMessage& m : chat.messages)
    if (!m.mine && m.kind == ChatMessage::Kind::kText && m.chat_seq > chat.my_read) ++n;
  return n;
}

std::string ChatModel::NameOf(uint64_t user) const {
  if (user == me_) return "you";
  auto it = names_.find(user);
  return it != names_.end() ? it->second : "user " + std::to_string(user);
}

std::string ChatModel::TitleOf(const Chat& chat) const {
  if (!chat.key.is_group()) return NameOf(chat.key.peer);
  return chat.title.empty() ? "group " + std::to_string(chat.key.group) : chat.title;
}

std::string ChatModel::EventText(const ChatMessage& m) const {
  const std::string who = NameOf(m.sender);
  switch (m.event) {
    case wire::GroupOp::kCreate: return who + " created the group \"" + m.text + "\"";
    case wire::GroupOp::kRename: return who + " renamed the group to \"" + m.text + "\"";
    case wire::GroupOp::kAdd: return who + " added " + NameOf(m.event_user);
    case wire::GroupOp::kRemove: return who + " removed " + NameOf(m.event_user);
    case wire::GroupOp::kLeave: return NameOf(m.event_user != 0 ? m.event_user : m.sender) + " left";
    case wire::GroupOp::kPromote: return who + " made " + NameOf(m.event_user) + " an admin";
    case wire::GroupOp::kDemote: return who + " took admin from " + NameOf(m.event_user);
    case wire::GroupOp::kNone: break;
  }
  return who + " changed the group";
}

std::string ChatModel::Preview(const Chat& chat) const {
  for (auto it = chat.messages.rbegin(); it != chat.messages.rend(); ++it) {
    const ChatMessage& m = *it;
    if (m.kind == ChatMessage::Kind::kNotice) continue;
    if (m.kind == ChatMessage::Kind::kGroupEvent) return EventText(m);
    std::string line = m.mine ? "you: " : chat.key.is_group() ? NameOf(m.sender) + ": " : "";
    for (const wire::AssetRef& a : m.assets) line += "[file " + a.name + "] ";
    return line + m.text;
  }
  return "";
}

const wire::PresenceInfo* ChatModel::PresenceOf(uint64_t user) const {
  auto it = presence_.find(user);
  return it == presence_.end() ? nullptr : &it->second;
}

std::vector<uint64_t> ChatModel::PendingSends() const {
  std::vector<uint64_t> out;
  for (const auto& [seq, key] : pending_) out.push_back(seq);
  return out;
}

std::vector<uint64_t> ChatModel::People() const {
  std::set<uint64_t> all;
  for (const auto& [key, c] : chats_) {
    if (!key.is_group()) all.insert(key.peer);
    else all.insert(c.members.begin(), c.members.end());
  }
  all.erase(me_);
  all.erase(0);
  return {all.begin(), all.end()};
}

std::vector<uint64_t> ChatModel::GroupsToFetch() const {
  std::vector<uint64_t> out;
  for (const auto& [key, c] : chats_)
    if (key.is_group() && !c.members_known && !c.left && fetch_asked_.count(key.group) == 0) out.push_back(key.group);
  return out;
}

}  // namespace tern::ui
