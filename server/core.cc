// Core: connection lifecycle, the turn (group commit), delivery pump and timers.
// Message handlers live in server/handle_*.cc.
#include "server/core.h"
#include "server/log.h"

#include "server/asset_refs.h"

#include <chrono>
#include <cstdio>

#include "server/core_conn.h"

namespace tern::server {

namespace {

std::shared_ptr<const wire::Session::Options> SessionOptions(const Config& config) {
  auto o = std::make_shared<wire::Session::Options>();
  o->max_frame = config.max_frame_bytes;
  o->max_preauth_frame = config.max_preauth_frame_bytes;
  o->track_traffic = false;  // per-connection memory: thousands of sessions sit idle
  return o;
}

}  // namespace

Core::Core(const Config& config, store::KvEnv& env, Entropy& entropy, CodeSink& sink, AssetService* assets)
    : config_(config), env_(env), entropy_(entropy), sink_(sink), assets_(assets),
      session_options_(SessionOptions(config)) {}

Core::~Core() {
  if (txn_) txn_->Abort();
}

Core::Conn* Core::Find(ConnId id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : &it->second;
}

ConnId Core::OnOpen(uint64_t now_ms) {
  ConnId id = next_id_++;
  conns_.try_emplace(id, id, session_options_, now_ms);
  ++stats_.connections_opened;
  return id;
}

void Core::OnBytes(ConnId id, std::span<const uint8_t> bytes, uint64_t now_ms) {
  now_ms_ = now_ms;
  Conn* c = Find(id);
  if (c == nullptr || c->closing) return;
  c->last_rx_ms = now_ms;
  Status fed = c->session.Feed(bytes);
  // Messages decoded before a violation are valid and handled in order.
  while (auto m = c->session.NextEvent()) {
    if (c->closing) break;
    Dispatch(*c, std::move(*m), now_ms);
  }
  if (!fed.ok() && !c->closing) Violation(*c, fed);
}

void Core::OnClosed(ConnId id, uint64_t now_ms) {
  now_ms_ = now_ms;
  Conn* c = Find(id);
  if (c == nullptr) return;
  PresenceOff(*c, now_ms);
  Unwatch(*c);
  if (c->authed) {
    auto it = online_.find(c->dev);
    if (it != online_.end() && it->second == id) online_.erase(it);
    // Record last seen; a failure here only loses the timestamp.
    if (store::KvTxn* t = Txn()) {
      store::Accounts acc(*t);
      auto d = acc.GetDevice(c->dev.user_id, c->dev.device_id);
      if (d.ok() && d.value()) {
        d.value()->last_seen_ms = now_ms;
        Status s = acc.PutDevice(*d.value());
        if (!s.ok()) FailTurn(s);
      }
    }
  }
  closed_traffic_.frames_in += c->session.frames_in();
  closed_traffic_.frames_out += c->session.frames_out();
  closed_traffic_.bytes_in += c->session.bytes_in();
  closed_traffic_.bytes_out += c->session.bytes_out();
  dirty_.erase(id);
  conns_.erase(id);
}

TrafficTotals Core::traffic() const {
  TrafficTotals t = closed_traffic_;
  for (const auto& [id, c] : conns_) {
    t.frames_in += c.session.frames_in();
    t.frames_out += c.session.frames_out();
    t.bytes_in += c.session.bytes_in();
    t.bytes_out += c.session.bytes_out();
  }
  return t;
}

void Core::Violation(Conn& c, const Status& s) {
  if (IsProtocolViolation(s.code()) && s.code() != Code::kShuttingDown) ++stats_.protocol_errors;
  if (!c.session.failed()) c.session.Fail(s);  // a failed Feed already queued the Error
  ++stats_.errors[s.code()];
  c.closing = true;
  PresenceOff(c, now_ms_);
  if (c.authed) {
    auto it = online_.find(c.dev);
    if (it != online_.end() && it->second == c.id) online_.erase(it);
    c.authed = false;
  }
  MarkDirty(c.id);
}

void Core::Dispatch(Conn& c, wire::Message&& m, uint64_t now_ms) {
  if (!c.authed) {
    if (++c.handshake_frames > config_.max_preauth_frames || c.handshake_staged) {
      Violation(c, Status(Code::kProtocol, c.handshake_staged ? "frame before Welcome"
                                                               : "too many handshake frames"));
      return;
    }
  }
  std::visit(
      [&](auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, wire::RequestCode>) HandleRequestCode(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::Verify>) HandleVerify(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::Link>) HandleLink(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::Resume>) HandleResume(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::Send>) HandleSend(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::InboxAck>) HandleInboxAck(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::ResolvePhone>) HandleResolvePhone(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::CreateLinkCode>) HandleCreateLinkCode(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::ListDevices>) HandleListDevices(c, msg);
        else if constexpr (std::is_same_v<T, wire::UnlinkDevice>) HandleUnlinkDevice(c, msg);
        else if constexpr (std::is_same_v<T, wire::CreateGroup>) HandleCreateGroup(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::GroupChange>) HandleGroupChange(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::GetGroup>) HandleGetGroup(c, msg);
        else if constexpr (std::is_same_v<T, wire::ReadMark>) HandleReadMark(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::GetReceipts>) HandleGetReceipts(c, msg);
        else if constexpr (std::is_same_v<T, wire::SetPresence>) HandleSetPresence(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::SubscribePresence>) HandleSubscribePresence(c, msg);
        else if constexpr (std::is_same_v<T, wire::SetProfile>) HandleSetProfile(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::GetProfiles>) HandleGetProfiles(c, msg);
        else if constexpr (std::is_same_v<T, wire::SyncContacts>) HandleSyncContacts(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::GetUploadTicket>) HandleGetUploadTicket(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::GetDownloadTicket>) HandleGetDownloadTicket(c, msg, now_ms);
        else if constexpr (std::is_same_v<T, wire::Ping>) {
          uint64_t nonce = msg.nonce;
          Stage(c.id, [this, id = c.id, nonce](bool) {
            if (Conn* k = Find(id)) { k->session.Send(wire::Pong{nonce}); MarkDirty(id); }
          }, false);
        } else if constexpr (std::is_same_v<T, wire::Pong>) {
          // Liveness only: last_rx_ms was already updated.
        } else {
          // The session rejects server->client messages before they get here.
          Violation(c, Status(Code::kProtocol, "unexpected message"));
        }
      },
      m);
}

void Core::Stage(ConnId id, std::function<void(bool)> fn, bool durable) {
  pending_.push_back(Pending{id, std::move(fn), durable});
}

store::KvTxn* Core::Txn() {
  if (turn_failed_) return nullptr;
  if (!txn_) {
    auto t = env_.Begin(true);
    if (!t.ok()) {
      FailTurn(t.status());
      return nullptr;
    }
    txn_ = std::move(t.value());
  }
  return txn_.get();
}

void Core::FailTurn(const Status& s) {
  if (!turn_failed_) {
    turn_failed_ = true;
    turn_error_ = s;
    Log(LogLevel::kError, "turn_aborted").Err(s);
  }
}

void Core::RefuseHandshake(Conn& c, Code code, const std::string& why) {
  c.handshake_staged = true;
  Stage(c.id, [this, id = c.id, code, why](bool committed) {
    Conn* k = Find(id);
    if (k == nullptr) return;
    Code final_code = committed ? code : Code::kUnavailable;
    k->session.Fail(Status(final_code, committed ? why : "store unavailable"));
    ++stats_.errors[final_code];
    k->closing = true;
    MarkDirty(id);
  });
}

void Core::EndTurn(uint64_t now_ms, bool force) {
  now_ms_ = now_ms;
  // Presence pushes read last-seen times and contacts from committed state: they sync too.
  bool must_sync = force || !presence_changed_.empty() || !presence_snapshots_.empty();
  for (const auto& p : pending_) must_sync = must_sync || p.durable;
  if (txn_ && !turn_failed_ && !must_sync && config_.store_lazy_commit_ms > 0) {
    if (lazy_since_ms_ == 0) lazy_since_ms_ = now_ms == 0 ? 1 : now_ms;
    if (now_ms < lazy_since_ms_ + config_.store_lazy_commit_ms) {
      ++stats_.lazy_turns;
      lazy_pump_.insert(pump_.begin(), pump_.end());  // what they queued shows after the commit
      std::vector<Pending> pending;
      pending.swap(pending_);
      for (auto& p : pending) p.fn(true);
      PumpAndFlush();
      return;
    }
  }
  bool committed = !turn_failed_;
  const bool wrote = txn_ != nullptr;
  if (txn_) {
    if (turn_failed_) {
      txn_->Abort();
    } else {
      auto t0 = std::chrono::steady_clock::now();  // metrics only, never a decision
      Status s = txn_->Commit();
      stats_.last_commit_us = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
      ++stats_.commits;
      size_t b = 0;
      while (b < CoreStats::kCommitBoundsUs.size() && stats_.last_commit_us > CoreStats::kCommitBoundsUs[b]) ++b;
      ++stats_.commit_buckets[b];
      stats_.commit_us_sum += stats_.last_commit_us;
      if (!s.ok()) {
        committed = false;
        Log(LogLevel::kError, "commit_failed").Err(s);
      }
    }
    txn_.reset();
  }
  if (!committed) ++stats_.commit_failures;
  if (wrote || !committed) stats_.last_commit_ok = committed;  // a refused Begin(true) counts too
  turn_failed_ = false;
  turn_error_ = Status::Ok();
  lazy_since_ms_ = 0;
  pump_.merge(lazy_pump_);
  lazy_pump_.clear();

  std::vector<Pending> pending;
  pending.swap(pending_);
  for (auto& p : pending) p.fn(committed);

  PumpAndFlush();
  if (wrote) {  // between transactions: the only time the map may be resized
    Status grown = env_.MaybeGrow();
    if (!grown.ok()) Log(LogLevel::kError, "map_growth_failed").Err(grown);
  }
}

uint64_t Core::CommitDueMs() const {
  return lazy_since_ms_ == 0 ? UINT64_MAX : lazy_since_ms_ + config_.store_lazy_commit_ms;
}

void Core::PumpAndFlush() {
  if (pump_.empty() && presence_changed_.empty() && presence_snapshots_.empty()) return;
  auto read = env_.Begin(false);
  if (!read.ok()) {
    Log(LogLevel::kError, "read_txn_failed").Err(read.status());
    return;
  }
  std::set<store::DeviceKey> devices;
  devices.swap(pump_);
  for (const auto& d : devices) {
    auto it = online_.find(d);
    if (it == online_.end()) continue;
    if (Conn* c = Find(it->second)) Pump(*c, *read.value());
  }
  FlushPresence(*read.value());
  read.value()->Abort();
}

void Core::WantPump(const store::DeviceKey& d) {
  if (online_.count(d)) pump_.insert(d);
}

void Core::Pump(Conn& c, store::KvTxn& read) {
  if (!c.authed || c.closing) return;
  store::Mailbox mb(read);
  while (c.unacked.size() < c.window) {
    size_t room = std::min<size_t>(c.window - c.unacked.size(), config_.deliver_max_items);
    auto entries = mb.Read(c.dev, c.sent_seq, room, config_.deliver_max_bytes);
    if (!entries.ok()) {
      Log(LogLevel::kError, "queue_read_failed").Err(entries.status());
      return;
    }
    if (entries->empty()) break;
    wire::Deliver d;
    d.items.reserve(entries->size());
    for (auto& e : *entries) {
      wire::InboxItem it;
      it.seq = e.seq;
      it.kind = static_cast<wire::ItemKind>(e.kind);
      it.msg_id = e.msg_id;
      it.sender_user = e.sender_user;
      it.sender_device = e.sender_device;
      // "To you" goes without saying: 0 stands for the receiving user (PROTOCOL.md §3.3), which
      // saves a poorly compressible 64-bit id on every 1:1 message and receipt.
      it.to_user = e.to_user == c.dev.user_id ? 0 : e.to_user;
      it.chat_seq = e.chat_seq;
      it.server_ts_ms = e.server_ts_ms;
      it.text = std::move(e.text);
      it.group_id = e.group_id;
      it.event = static_cast<wire::GroupOp>(e.event);
      it.event_user = e.event_user;
      it.receipt = static_cast<wire::ReceiptType>(e.receipt);
      if (!e.assets.empty()) {
        auto refs = DecodeAssetRefs(e.assets);
        if (refs.ok()) it.assets = std::move(refs).value();
        else Log(LogLevel::kError, "asset_refs_corrupt").Kv("msg_id", e.msg_id).Err(refs.status());
      }
      c.unacked.push_back(e.seq);
      d.items.push_back(std::move(it));
    }
    c.sent_seq = d.items.back().seq;
    stats_.items_delivered += d.items.size();
    c.session.Send(d);
    MarkDirty(c.id);
  }
}

void Core::Attach(Conn& c, const store::DeviceKey& d, uint32_t window) {
  auto it = online_.find(d);
  if (it != online_.end() && it->second != c.id) Kick(d, Code::kReplaced, "device connected again");
  c.authed = true;
  c.handshake_staged = false;
  c.dev = d;
  c.window = window;
  c.unacked.clear();
  online_[d] = c.id;
  PresenceOn(c);
}

void Core::Kick(const store::DeviceKey& d, Code code, const std::string& why) {
  auto it = online_.find(d);
  if (it == online_.end()) return;
  ConnId id = it->second;
  online_.erase(it);
  if (Conn* c = Find(id)) {
    PresenceOff(*c, now_ms_);
    c->authed = false;
    c->session.Fail(Status(code, why));
    ++stats_.errors[code];
    c->closing = true;
    MarkDirty(id);
  }
}

uint32_t Core::ClampWindow(uint32_t asked) const {
  if (asked == 0) return config_.default_inflight;
  return std::min(asked, config_.max_inflight);
}

uint32_t Core::NewEpoch() {
  uint32_t e = 0;
  while (e == 0) e = entropy_.U32();
  return e;
}

std::vector<Core::Outgoing> Core::TakeOutgoing() {
  std::vector<Outgoing> out;
  out.reserve(dirty_.size());
  for (ConnId id : dirty_) {
    Conn* c = Find(id);
    if (c == nullptr) continue;
    std::string bytes = c->session.TakeOutput();
    if (bytes.empty() && !c->closing) continue;
    out.push_back(Outgoing{id, std::move(bytes), c->closing});
  }
  dirty_.clear();
  return out;
}

void Core::OnTick(uint64_t now_ms) {
  now_ms_ = now_ms;
  PresenceTick(now_ms);
  uint64_t silent_limit = static_cast<uint64_t>(config_.heartbeat_ms) * 3 / 2;
  for (auto& [id, c] : conns_) {
    if (c.closing) continue;
    if (!c.authed && !c.handshake_staged && now_ms - c.opened_ms >= config_.handshake_timeout_ms) {
      Violation(c, Status(Code::kTimeout, "handshake timeout"));
    } else if (c.authed && now_ms - c.last_rx_ms >= silent_limit) {
      Violation(c, Status(Code::kTimeout, "no heartbeat"));
    }
  }
  if (now_ms >= next_expiry_ms_) {
    next_expiry_ms_ = now_ms + config_.expiry_interval_ms;
    RunExpiry(now_ms);
  }
}

uint64_t Core::NextDeadline() const {
  uint64_t next = next_expiry_ms_;
  if (!offline_due_.empty()) next = std::min(next, offline_due_.begin()->first);
  uint64_t silent_limit = static_cast<uint64_t>(config_.heartbeat_ms) * 3 / 2;
  for (const auto& [id, c] : conns_) {
    if (c.closing) continue;
    uint64_t d = c.authed ? c.last_rx_ms + silent_limit : c.opened_ms + config_.handshake_timeout_ms;
    next = std::min(next, d);
  }
  return next;
}

void Core::Shutdown() {
  for (auto& [id, c] : conns_) {
    if (c.closing) continue;
    Violation(c, Status(Code::kShuttingDown, "server shutting down"));
  }
}

}  // namespace tern::server
