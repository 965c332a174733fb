// Core: the server's decisions — handshake, routing, fan-out, acks, flow control, expiry —
// with no IO. The libuv layer (server/uv_server.h) feeds it events and executes its actions;
// tests drive it directly with a fake clock and an in-memory store (tests/unit/server_*).
//
// Events in:  OnOpen, OnBytes, OnClosed (transport), OnTick (timers), EndTurn (end of a loop
//             turn). `now_ms` is passed in on every call; the core never reads a clock.
// Actions out: TakeOutgoing() — bytes to write per connection and whether to close after.
//
// Group commit: every store write made while handling the events of one loop turn goes into
// one write transaction, committed (synced) in EndTurn. Replies that promise durability (the
// *sent* ack, Welcome with a new token) are staged and released only after that commit; if
// the commit fails they are replaced by their failure variants (SendAck{unavailable}, Error).
// Deliveries are read from the store after the commit, so nothing uncommitted is ever sent.
//
// Lazy commits: a turn whose writes promise nothing durable to anyone (only inbox acks,
// delivered receipts, last-seen times, read-only requests: all replayed or harmless after a
// crash; a turn that pushes presence is not one of them) leaves its transaction open for up to Config::store_lazy_commit_ms, and the next turn
// that must sync commits both with one fsync. Until then those writes are invisible to
// deliveries (receipts they queued wait for the commit) but visible to later handlers (they
// share the transaction). CommitDueMs() tells the IO layer when to run EndTurn at the latest.
//
// Thread safety: single-threaded; owned by the loop thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/asset_service.h"
#include "server/config.h"
#include "server/crypto.h"
#include "store/accounts.h"
#include "store/kv.h"
#include "store/mailbox.h"
#include "wire/messages.h"
#include "wire/session.h"

namespace tern::server {

using ConnId = uint64_t;

// Where one-time codes go (development: log + file; production: a command or webhook).
class CodeSink {
 public:
  virtual ~CodeSink() = default;
  virtual void Deliver(const std::string& phone, const std::string& code) = 0;
};

// Counters for /metrics (server/metrics.h). Read on the loop thread.
struct CoreStats {
  uint64_t connections_opened = 0;
  uint64_t messages_accepted = 0;
  uint64_t items_delivered = 0;   // inbox items written to connections
  uint64_t commits = 0;
  uint64_t commit_failures = 0;
  uint64_t lazy_turns = 0;        // turns whose writes waited for a later commit
  uint64_t protocol_errors = 0;
  uint64_t last_commit_us = 0;
  bool last_commit_ok = true;     // the latest turn that wrote committed (readiness)
  // Commit latency histogram: upper bounds in microseconds; counts per bucket (not cumulative),
  // the last one for slower commits (+Inf). Measured around the commit in EndTurn.
  static constexpr std::array<uint64_t, 12> kCommitBoundsUs = {100,   250,   500,    1000,   2500,   5000,
                                                               10000, 25000, 50000, 100000, 250000, 1000000};
  std::array<uint64_t, kCommitBoundsUs.size() + 1> commit_buckets{};
  uint64_t commit_us_sum = 0;
  std::map<Code, uint64_t> errors;  // Error frames sent to clients, by code
};

// Frames and bytes through every wire::Session (plaintext frames: headers + bodies), closed
// connections included.
struct TrafficTotals {
  uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
};

class Core {
 public:
  // `env`, `entropy`, `sink` and `assets` (null: no media; every media request is refused
  // unavailable) must outlive the core.
  Core(const Config& config, store::KvEnv& env, Entropy& entropy, CodeSink& sink, AssetService* assets = nullptr);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  ConnId OnOpen(uint64_t now_ms);
  // Bytes read from the connection. A protocol violation queues an Error and marks the
  // connection for closing.
  void OnBytes(ConnId id, std::span<const uint8_t> bytes, uint64_t now_ms);
  // The transport is gone (peer closed, error, or we closed it). Forgets the connection.
  void OnClosed(ConnId id, uint64_t now_ms);
  // Timers: handshake and heartbeat deadlines, the expiry sweeper.
  void OnTick(uint64_t now_ms);
  // Commits the turn's writes (or defers them: see "Lazy commits"; `force` never defers),
  // releases staged replies, pushes deliveries.
  void EndTurn(uint64_t now_ms, bool force = false);
  // When EndTurn must run at the latest to commit deferred writes; UINT64_MAX when none wait.
  uint64_t CommitDueMs() const;
  // Marks every connection for closing with Error{shutting_down}.
  void Shutdown();

  struct Outgoing {
    ConnId id;
    std::string bytes;
    bool close;  // close the connection once `bytes` are written
  };
  std::vector<Outgoing> TakeOutgoing();

  // Earliest time OnTick has work to do.
  uint64_t NextDeadline() const;

  const CoreStats& stats() const { return stats_; }
  size_t connection_count() const { return conns_.size(); }
  // Sums the live sessions' counters onto those of closed ones: O(connections), for scrapes.
  TrafficTotals traffic() const;

 private:
  friend class CoreHandlers;
  struct Conn;
  struct Pending {
    ConnId id;
    std::function<void(bool committed)> fn;
    bool durable;  // released only after the turn's writes are synced
  };

  Conn* Find(ConnId id);
  void Dispatch(Conn& c, wire::Message&& m, uint64_t now_ms);
  void Violation(Conn& c, const Status& s);
  // Runs `fn` after the turn's commit. durable = false: the reply promises nothing about the
  // turn's writes (a Pong, a read-only answer), so it does not force a synced commit.
  void Stage(ConnId id, std::function<void(bool committed)> fn, bool durable = true);
  // Pushes what pump_ names and the turn's presence changes (after the commit or deferral).
  void PumpAndFlush();
  // The turn's write txn (begun on first use); nullptr if the turn already failed.
  store::KvTxn* Txn();
  // Records a store error: the turn will abort and staged replies get their failure variants.
  void FailTurn(const Status& s);
  void Pump(Conn& c, store::KvTxn& read);
  void MarkDirty(ConnId id) { dirty_.insert(id); }
  void WantPump(const store::DeviceKey& d);
  void Attach(Conn& c, const store::DeviceKey& d, uint32_t window);
  void Kick(const store::DeviceKey& d, Code code, const std::string& why);
  // Stages the failure of a handshake: Error{code} after the turn, then close.
  void RefuseHandshake(Conn& c, Code code, const std::string& why);
  // A store error during a handshake: the turn aborts and the handshake is refused unavailable.
  void HandshakeStoreError(Conn& c, const Status& s);

  // Handlers (server/handle_*.cc).
  void HandleRequestCode(Conn& c, const wire::RequestCode& m, uint64_t now_ms);
  void HandleVerify(Conn& c, const wire::Verify& m, uint64_t now_ms);
  void HandleLink(Conn& c, const wire::Link& m, uint64_t now_ms);
  void HandleResume(Conn& c, const wire::Resume& m, uint64_t now_ms);
  void HandleSend(Conn& c, const wire::Send& m, uint64_t now_ms);
  void HandleInboxAck(Conn& c, const wire::InboxAck& m, uint64_t now_ms);
  void HandleResolvePhone(Conn& c, const wire::ResolvePhone& m, uint64_t now_ms);
  void HandleCreateLinkCode(Conn& c, const wire::CreateLinkCode& m, uint64_t now_ms);
  void HandleListDevices(Conn& c, const wire::ListDevices& m);
  void HandleUnlinkDevice(Conn& c, const wire::UnlinkDevice& m);
  // Groups (server/handle_groups.cc).
  void HandleCreateGroup(Conn& c, const wire::CreateGroup& m, uint64_t now_ms);
  void HandleGroupChange(Conn& c, const wire::GroupChange& m, uint64_t now_ms);
  void HandleGetGroup(Conn& c, const wire::GetGroup& m);
  // Receipts (server/handle_receipts.cc).
  void HandleReadMark(Conn& c, const wire::ReadMark& m, uint64_t now_ms);
  void HandleGetReceipts(Conn& c, const wire::GetReceipts& m);
  // Delivered marks from the message items a device just acknowledged.
  Status OnDelivered(store::KvTxn& t, const store::DeviceKey& reader,
                     const std::vector<store::AckedMessage>& acked, uint64_t now_ms);
  // Queues a receipt (reader reached `seq` of `chat`, moving from `old_seq`) for the devices of
  // the senders it concerns, and for a read mark also the reader's other devices.
  Status NotifyReceipt(store::KvTxn& t, const store::ChatKey& chat, const store::DeviceKey& reader,
                       uint8_t type, uint64_t seq, uint64_t old_seq, uint64_t now_ms);
  // Presence (server/presence.cc).
  void HandleSetPresence(Conn& c, const wire::SetPresence& m, uint64_t now_ms);
  void HandleSubscribePresence(Conn& c, const wire::SubscribePresence& m);
  void PresenceOn(Conn& c);                  // c counts toward its user being online
  void PresenceOff(Conn& c, uint64_t now_ms); // c no longer counts
  void Unwatch(Conn& c);
  void PresenceTick(uint64_t now_ms);
  void FlushPresence(store::KvTxn& read);
  // What `viewer` may see of `user` now.
  Result<wire::PresenceInfo> PresenceOf(store::KvTxn& t, uint64_t user, uint64_t viewer);
  // Profiles and contact discovery (server/handle_social.cc).
  void HandleSetProfile(Conn& c, const wire::SetProfile& m, uint64_t now_ms);
  void HandleGetProfiles(Conn& c, const wire::GetProfiles& m);
  void HandleSyncContacts(Conn& c, const wire::SyncContacts& m, uint64_t now_ms);
  // Takes `n` lookups from the user's discovery budget; false (and *retry_ms) when short.
  Result<bool> SpendDiscovery(store::KvTxn& t, uint64_t user, uint64_t n, uint64_t now_ms,
                              uint32_t* retry_ms);
  // Stages Reply{req_id, code} (code becomes unavailable if the turn's commit fails).
  void StageReply(ConnId id, uint32_t req_id, Code code, std::string message = {});
  // Media (server/handle_media.cc).
  void HandleGetUploadTicket(Conn& c, const wire::GetUploadTicket& m, uint64_t now_ms);
  void HandleGetDownloadTicket(Conn& c, const wire::GetDownloadTicket& m, uint64_t now_ms);
  // kOk, or why a Send's asset references are refused (kUnavailable after FailTurn on a store
  // error).
  Code CheckSendAssets(store::KvTxn& t, const wire::Send& m, uint64_t user);
  // Every device of every user in `users`, except `skip`, each once, with its queue ensured.
  // Sets *full when one of those queues is at queue_cap.
  Result<std::vector<store::DeviceKey>> ChatTargets(store::KvTxn& t, std::span<const uint64_t> users,
                                                    const store::DeviceKey& skip, bool* full);
  // Assigns rec.msg_id and rec.chat_seq (rec.chat set by the caller), appends it to `targets`
  // as `kind` and schedules pushes.
  Status AppendToChat(store::KvTxn& t, store::MessageRecord& rec,
                      std::span<const store::DeviceKey> targets, store::QueueItemKind kind);
  void RunExpiry(uint64_t now_ms);
  // Creates a device for `user` (new token, fresh queue) and stages its Welcome.
  void CreateDeviceAndWelcome(Conn& c, store::UserRecord user, const std::string& device_name,
                              uint32_t max_inflight, const std::vector<uint32_t>& dict_ids,
                              uint64_t now_ms);
  uint32_t ClampWindow(uint32_t asked) const;
  uint32_t NewEpoch();

  Config config_;
  store::KvEnv& env_;
  Entropy& entropy_;
  CodeSink& sink_;
  AssetService* assets_;
  CoreStats stats_;
  TrafficTotals closed_traffic_;  // sessions already gone

  // One wire::Session::Options for every connection (not a copy each).
  std::shared_ptr<const wire::Session::Options> session_options_;
  // Connections by value: one allocation per connection (the node), pointers stay valid.
  std::unordered_map<ConnId, Conn> conns_;
  std::map<store::DeviceKey, ConnId> online_;  // device -> its authenticated connection
  ConnId next_id_ = 1;
  std::set<ConnId> dirty_;        // connections with output or a close pending
  std::set<store::DeviceKey> pump_;  // devices whose queues may have something to send

  std::unique_ptr<store::KvTxn> txn_;
  uint64_t lazy_since_ms_ = 0;             // nonzero: txn_ holds deferred writes since then
  std::set<store::DeviceKey> lazy_pump_;   // to pump again once the deferred writes commit
  bool turn_failed_ = false;
  Status turn_error_;
  std::vector<Pending> pending_;
  uint64_t next_expiry_ms_ = 0;
  uint64_t now_ms_ = 0;  // time of the latest event (for paths without a now_ms argument)

  // Presence (ephemeral, memory only): per user, connections counting toward "online"; a user
  // whose count fell to 0 is shown offline only after presence_offline_grace_ms.
  struct UserPresence {
    uint32_t active = 0;
    bool shown_online = false;
    uint64_t offline_at = 0;  // nonzero: count is 0 since left_ms; show offline at this time
    uint64_t left_ms = 0;
  };
  std::unordered_map<uint64_t, UserPresence> presence_;
  std::set<std::pair<uint64_t, uint64_t>> offline_due_;  // (offline_at, user)
  std::unordered_map<uint64_t, std::vector<ConnId>> watchers_;  // user -> watching connections
  std::set<uint64_t> presence_changed_;                  // users to push at the end of the turn
  std::vector<std::pair<ConnId, std::vector<uint64_t>>> presence_snapshots_;  // after subscribe
};

}  // namespace tern::server
