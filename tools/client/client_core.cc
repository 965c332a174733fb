#include "tools/client/client_core.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>

namespace tern::tools {
namespace {

uint32_t HeartbeatMs(const ClientCore::Options& o, const std::optional<wire::Welcome>& w) {
  if (o.heartbeat_ms != 0) return o.heartbeat_ms;
  return w ? w->heartbeat_ms : 0;
}

}  // namespace

ClientCore::ClientCore(StateStore* store, ClientState state, Options options)
    : store_(store), state_(std::move(state)), options_(options) {}

void ClientCore::OnConnected(uint64_t now_ms) {
  authenticated_ = false;
  welcome_.reset();
  code_sent_.reset();
  last_error_ = Status::Ok();
  outgoing_.clear();
  held_ack_ = 0;
  lazy_ack_ = 0;
  last_out_ms_ = now_ms;
}

void ClientCore::OnDisconnected(const Status& why) {
  authenticated_ = false;
  outgoing_.clear();
  held_ack_ = 0;
  lazy_ack_ = 0;
  last_error_ = why.ok() ? Status(Code::kUnavailable, "disconnected") : why;
}

wire::Resume ClientCore::MakeResume() const {
  wire::Resume r;
  r.user_id = state_.user_id;
  r.device_id = state_.device_id;
  r.token = state_.token;
  r.inbox_epoch = state_.inbox_epoch;
  r.last_inbox_seq = state_.last_inbox_seq;
  r.last_acked_client_seq = state_.last_acked_client_seq;
  r.max_inflight = options_.max_inflight;
  r.dict_ids = options_.dict_ids;
  return r;
}

wire::Verify ClientCore::MakeVerify(std::string phone, std::string code,
                                    std::string device_name) const {
  wire::Verify v;
  v.phone = std::move(phone);
  v.code = std::move(code);
  v.device_name = std::move(device_name);
  v.max_inflight = options_.max_inflight;
  v.dict_ids = options_.dict_ids;
  return v;
}

wire::Link ClientCore::MakeLink(std::string link_code, std::string device_name) const {
  wire::Link l;
  l.link_code = std::move(link_code);
  l.device_name = std::move(device_name);
  l.max_inflight = options_.max_inflight;
  l.dict_ids = options_.dict_ids;
  return l;
}

Status ClientCore::OnMessage(const wire::Message& m, uint64_t now_ms) {
  return std::visit(
      [this, now_ms](const auto& msg) -> Status {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, wire::Welcome>) {
          return OnWelcome(msg);
        } else if constexpr (std::is_same_v<T, wire::CodeSent>) {
          code_sent_ = msg;
        } else if constexpr (std::is_same_v<T, wire::SendAck>) {
          return OnSendAck(msg);
        } else if constexpr (std::is_same_v<T, wire::Deliver>) {
          return OnDeliver(msg, now_ms);
        } else if constexpr (std::is_same_v<T, wire::Ping>) {
          outgoing_.push_back(wire::Pong{msg.nonce});
        } else if constexpr (std::is_same_v<T, wire::Pong>) {
          ++counters_.pongs_received;
          last_pong_ = std::max(last_pong_, msg.nonce);
        } else if constexpr (std::is_same_v<T, wire::Error>) {
          authenticated_ = false;
          last_error_ = Status(msg.code, msg.message.empty() ? "error from server" : msg.message);
          return last_error_;
        } else if constexpr (std::is_same_v<T, wire::Presence>) {
          ++counters_.presence_updates;
          for (const auto& p : msg.users) presence_[p.user_id] = p;
        } else if constexpr (std::is_same_v<T, wire::ReceiptList> ||
                             std::is_same_v<T, wire::Profiles> ||
                             std::is_same_v<T, wire::Resolved> ||
                             std::is_same_v<T, wire::LinkCode> ||
                             std::is_same_v<T, wire::DeviceList> ||
                             std::is_same_v<T, wire::GroupInfo> ||
                             std::is_same_v<T, wire::AssetTicket> ||
                             std::is_same_v<T, wire::Reply>) {
          replies_[msg.req_id] = msg;
        }
        // Client-to-server messages cannot arrive: the session rejects them by direction.
        return Status::Ok();
      },
      m);
}

Status ClientCore::OnWelcome(const wire::Welcome& w) {
  ++counters_.welcomes;
  welcome_ = w;
  authenticated_ = true;
  if (!w.token.empty()) {
    // A new device (Verify/Link): its queue, counters and credentials start from scratch.
    state_ = ClientState{};
    state_.user_id = w.user_id;
    state_.device_id = w.device_id;
    state_.token = w.token;
    state_.inbox_epoch = w.inbox_epoch;
  } else {
    if (w.inbox_epoch != state_.inbox_epoch) {
      // The queue is not the one our position refers to: the stream restarts at its head.
      state_.inbox_epoch = w.inbox_epoch;
      state_.last_inbox_seq = 0;
    }
    // The server holds results we never stored (a lost state file): never reuse those seqs.
    if (w.client_seq_high >= state_.next_client_seq) {
      state_.next_client_seq = w.client_seq_high + 1;
    }
    for (const PendingSend& p : state_.unacked) {
      const wire::SendAck* last = ack_for(p.client_seq);
      bool refused_unrecorded = last != nullptr && last->status == Code::kUnavailable;
      if (p.client_seq > w.client_seq_high || refused_unrecorded) {
        ++counters_.resends;
        QueueSend(p);
      }
    }
  }
  // Presence settings live with the connection on the server: state them again.
  if (!active_) outgoing_.push_back(wire::SetPresence{false});
  if (watching_) outgoing_.push_back(wire::SubscribePresence{*watching_});
  Status st = store_->Save(state_);
  if (st.ok()) dirty_ = false;
  return st;
}

Status ClientCore::OnSendAck(const wire::SendAck& ack) {
  ++counters_.acks_received;
  if (history_ != nullptr) {
    // Not recorded: keep the send pending, so the resume after this session ends replays the ack.
    Status st = history_->RecordSendAck(ack);
    if (!st.ok()) return st;
  }
  acks_[ack.client_seq] = ack;
  if (ack.status == Code::kUnavailable) return Status::Ok();  // not recorded by the server: retry later
  auto it = std::find_if(state_.unacked.begin(), state_.unacked.end(),
                         [&](const PendingSend& p) { return p.client_seq == ack.client_seq; });
  if (it != state_.unacked.end()) {
    state_.unacked.erase(it);
    RecomputeLastAcked();
    dirty_ = true;
  }
  return Status::Ok();
}

void ClientCore::RecomputeLastAcked() {
  uint64_t high = state_.unacked.empty() ? state_.next_client_seq - 1
                                         : state_.unacked.front().client_seq - 1;
  state_.last_acked_client_seq = std::max(state_.last_acked_client_seq, high);
}

Status ClientCore::OnDeliver(const wire::Deliver& d, uint64_t now_ms) {
  ++counters_.deliver_frames;
  counters_.max_items_per_frame =
      std::max<uint64_t>(counters_.max_items_per_frame, d.items.size());
  bool fresh = false;
  bool only_receipts = true;
  uint64_t frame_high = 0;
  std::vector<wire::InboxItem> items;
  uint64_t high = state_.last_inbox_seq;
  for (wire::InboxItem item : d.items) {
    frame_high = std::max(frame_high, item.seq);
    // to_user 0 on a 1:1 item means "you" (PROTOCOL.md §3.3): restore it for the app.
    if (item.to_user == 0 && item.group_id == 0) item.to_user = state_.user_id;
    if (item.seq <= high) {
      ++counters_.duplicates_dropped;
      continue;
    }
    high = item.seq;
    items.push_back(std::move(item));
  }
  // In the device's history before the position moves past them (and before the ack).
  if (history_ != nullptr && !items.empty()) {
    Status st = history_->RecordItems(state_.user_id, items);
    if (!st.ok()) return st;
  }
  for (const wire::InboxItem& item : items) {
    state_.last_inbox_seq = item.seq;
    ++counters_.items_received;
    if (item.kind == wire::ItemKind::kReceipt) {
      // 1:1: the chat is between sender_user (the reader) and to_user; from here, the peer is
      // whichever of the two is not me.
      const uint64_t peer = item.group_id != 0 ? 0
                            : item.sender_user == state_.user_id ? item.to_user : item.sender_user;
      Marks& m = marks_[{item.group_id, peer}][item.sender_user];
      if (item.receipt == wire::ReceiptType::kRead) m.read = std::max(m.read, item.chat_seq);
      m.delivered = std::max({m.delivered, m.read, item.chat_seq});
      receipts_.push_back(item);
    } else {
      inbox_.push_back(item);
    }
    if (item.kind != wire::ItemKind::kReceipt) only_receipts = false;
    if (on_item_) on_item_(item);
    fresh = true;
  }
  if (fresh) {
    // Durable before acknowledged: the server deletes what we ack.
    Status st = store_->Save(state_);
    if (!st.ok()) return st;
    dirty_ = false;
  }
  // Ack only seqs this connection was sent (an ack above what the server sent is a violation).
  uint64_t ack = std::min(state_.last_inbox_seq, frame_high);
  if (ack == 0) return Status::Ok();
  if (options_.auto_ack && fresh && only_receipts && options_.receipt_ack_delay_ms != 0) {
    if (lazy_ack_ == 0) lazy_since_ms_ = now_ms;
    lazy_ack_ = std::max(lazy_ack_, ack);
  } else if (options_.auto_ack) {
    outgoing_.push_back(wire::InboxAck{ack});
  } else {
    held_ack_ = std::max(held_ack_, ack);
  }
  return Status::Ok();
}

Result<uint64_t> ClientCore::Send(uint64_t to_user, std::string text) {
  return Store(PendingSend{0, to_user, std::move(text), 0});
}

Result<uint64_t> ClientCore::SendToGroup(uint64_t group_id, std::string text) {
  return Store(PendingSend{0, 0, std::move(text), group_id});
}

Result<uint64_t> ClientCore::SendMedia(uint64_t to_user, uint64_t group_id, std::vector<wire::AssetRef> assets,
                                       std::string caption) {
  return Store(PendingSend{0, to_user, std::move(caption), group_id, std::move(assets)});
}

Result<uint64_t> ClientCore::Store(PendingSend p) {
  if (!state_.registered()) return Status(Code::kInvalidArgument, "device not registered");
  p.client_seq = state_.next_client_seq;
  // History first: if the state save then fails, the same client_seq is reused and the
  // pending record is overwritten.
  if (history_ != nullptr) TERN_RETURN_IF_ERROR(history_->RecordSend(state_.user_id, p));
  ClientState next = state_;
  next.next_client_seq++;
  next.unacked.push_back(p);
  if (state_.unacked.empty()) next.last_acked_client_seq = p.client_seq - 1;
  Status st = store_->Save(next);
  if (!st.ok()) return st;
  state_ = std::move(next);
  dirty_ = false;
  if (authenticated_) QueueSend(p);
  return p.client_seq;
}

void ClientCore::QueueSend(const PendingSend& p) {
  ++counters_.sends_written;
  outgoing_.push_back(wire::Send{p.client_seq, p.to_user, p.text, 0, p.group_id, p.assets});
}

ClientCore::Marks ClientCore::MarkOf(uint64_t peer_user, uint64_t group_id, uint64_t reader) const {
  auto chat = marks_.find({group_id, group_id != 0 ? 0 : peer_user});
  if (chat == marks_.end()) return Marks{};
  auto it = chat->second.find(reader);
  return it == chat->second.end() ? Marks{} : it->second;
}

void ClientCore::Watch(std::vector<uint64_t> users) {
  watching_ = users;
  if (authenticated_) outgoing_.push_back(wire::SubscribePresence{std::move(users)});
}

void ClientCore::SetActive(bool active) {
  active_ = active;
  if (authenticated_) outgoing_.push_back(wire::SetPresence{active});
}

uint32_t ClientCore::Request(wire::Message request) {
  uint32_t id = next_req_id_++;
  std::visit(
      [id](auto& msg) {
        if constexpr (requires { msg.req_id; }) msg.req_id = id;
      },
      request);
  outgoing_.push_back(std::move(request));
  return id;
}

std::optional<wire::Message> ClientCore::TakeReply(uint32_t req_id) {
  auto it = replies_.find(req_id);
  if (it == replies_.end()) return std::nullopt;
  wire::Message m = std::move(it->second);
  replies_.erase(it);
  return m;
}

uint64_t ClientCore::SendPing() {
  uint64_t nonce = next_nonce_++;
  ++counters_.pings_sent;
  outgoing_.push_back(wire::Ping{nonce});
  return nonce;
}

void ClientCore::AckInbox() {
  if (held_ack_ == 0) return;
  outgoing_.push_back(wire::InboxAck{held_ack_});
  held_ack_ = 0;
}

void ClientCore::Tick(uint64_t now_ms) {
  if (authenticated_ && lazy_ack_ != 0 && now_ms >= lazy_since_ms_ + options_.receipt_ack_delay_ms)
    outgoing_.push_back(wire::InboxAck{lazy_ack_});  // merged (and lazy_ack_ cleared) on the way out
  if (!authenticated_ || !outgoing_.empty()) return;
  uint32_t hb = HeartbeatMs(options_, welcome_);
  if (hb != 0 && now_ms >= last_out_ms_ + hb) SendPing();
}

uint64_t ClientCore::NextDeadline() const {
  uint32_t hb = HeartbeatMs(options_, welcome_);
  if (!authenticated_) return std::numeric_limits<uint64_t>::max();
  uint64_t next = hb == 0 ? std::numeric_limits<uint64_t>::max() : last_out_ms_ + hb;
  if (lazy_ack_ != 0) next = std::min(next, lazy_since_ms_ + options_.receipt_ack_delay_ms);
  return next;
}

std::vector<wire::Message> ClientCore::TakeOutgoing(uint64_t now_ms) {
  if (outgoing_.empty()) return {};
  last_out_ms_ = now_ms;
  std::vector<wire::Message> out;
  out.reserve(outgoing_.size());
  uint64_t ack = 0;
  size_t acks = 0;
  wire::Send* first_send = nullptr;
  for (wire::Message& m : outgoing_) {
    if (const auto* a = std::get_if<wire::InboxAck>(&m)) {
      ack = std::max(ack, a->seq);  // cumulative: the highest says it all
      ++acks;
      continue;
    }
    out.push_back(std::move(m));
  }
  outgoing_.clear();
  for (wire::Message& m : out) {
    if (auto* s = std::get_if<wire::Send>(&m)) {
      first_send = s;
      break;
    }
  }
  if (first_send != nullptr && held_ack_ != 0) {  // auto_ack off: the held ack rides along
    ack = std::max(ack, held_ack_);
    held_ack_ = 0;
    ++acks;
  }
  if (lazy_ack_ != 0 && (!out.empty() || ack != 0)) {  // something goes out: receipts' ack too
    ack = std::max(ack, lazy_ack_);
    lazy_ack_ = 0;
  }
  if (ack != 0) {
    if (first_send != nullptr) {
      first_send->ack_inbox_seq = ack;
      counters_.acks_piggybacked += acks;
    } else {
      out.push_back(wire::InboxAck{ack});
    }
  }
  return out;
}

Status ClientCore::PersistIfDirty() {
  if (!dirty_) return Status::Ok();
  Status st = store_->Save(state_);
  if (st.ok()) dirty_ = false;
  return st;
}

const wire::SendAck* ClientCore::ack_for(uint64_t client_seq) const {
  auto it = acks_.find(client_seq);
  return it == acks_.end() ? nullptr : &it->second;
}

}  // namespace tern::tools
