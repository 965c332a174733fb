// Client: a blocking Tern client over TCP. It runs a wire::Session (client role) on a
// TcpTransport and feeds the ClientCore (tools/client/client_core.h), which holds the
// protocol decisions and the persisted ClientState.
//
// Every call that waits takes (or uses Options::io_timeout_ms as) a bound; nothing blocks
// forever. When the connection ends (EOF, reset, an Error frame, a protocol violation) the
// client becomes disconnected, last_error() says why, and pending sends stay pending: Send
// still works (it stores the message) and Resume() delivers them. Reconnect with Resume().
//
// Typical use:
//   auto c = Client::Create({.host = "127.0.0.1", .port = port, .state_path = path});
//   (*c)->Resume();  uint64_t seq = *(*c)->Send(peer, "hi");  (*c)->WaitForAck(seq, 5000);
//
// Thread safety: not thread-safe; one owner.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/client/client_core.h"
#include "tools/client/client_state.h"
#include "tools/client/tcp_transport.h"
#include "tools/client/tls_transport.h"
#include "wire/messages.h"
#include "wire/session.h"
#include "wire/status.h"

namespace tern::tools {

class Client {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 7011;
    std::string state_path;      // empty: in-memory state
    ClientCore::Options core;
    int io_timeout_ms = 5000;    // connect, handshake, request/response and write bound
    size_t max_frame = 16 << 20; // largest frame body accepted from the server
    // TLS 1.3 (tools/client/tls_transport.h); off = plain TCP. With a state_path and no
    // tls.session_path, the session ticket is kept in state_path + ".tls".
    TlsOptions tls;
    // The local chat history (tools/client/history.h), filled automatically: every received
    // item, every Send, SendAck and receipt. `history` (not owned, must outlive the client)
    // wins; else an LMDB history in `history_path`; else in `<state_path>.history` when
    // state_path is set. None with in-memory state (and no path) or keep_history = false.
    History* history = nullptr;
    std::string history_path;
    bool keep_history = true;
    LmdbHistoryOptions history_options;
  };

  // Loads the state (see StateStore::Load for errors) and opens the history (History::Open's
  // errors, e.g. kInvalidArgument for a path that is not a Tern history). Does not connect.
  static Result<std::unique_ptr<Client>> Create(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Where the next connection goes (e.g. a restarted server on a new port).
  void set_server(std::string host, uint16_t port);

  // ---- handshakes; each opens a fresh connection unless one is still in its handshake ----
  // Errors: transport errors, the server's Error code (e.g. kRateLimited), kTimeout.
  Result<wire::CodeSent> RequestCode(const std::string& phone);
  // Registers this device as the primary device of `phone`; stores the credentials.
  Result<wire::Welcome> Verify(const std::string& phone, const std::string& code,
                               const std::string& device_name);
  // Adds this device to the user that issued `link_code`; stores the credentials.
  Result<wire::Welcome> Link(const std::string& link_code, const std::string& device_name);
  // Reconnects with the stored credentials and position; pending sends above
  // Welcome.client_seq_high are resent. Errors: kInvalidArgument (not registered),
  // kBadCredentials (unlinked), transport errors, kTimeout.
  Result<wire::Welcome> Resume();

  // ---- messaging ----
  // Stores the message durably, then writes it if connected. Returns its client_seq.
  // Errors: kUnavailable (state could not be saved), kInvalidArgument (not registered).
  Result<uint64_t> Send(uint64_t to_user, std::string text);
  // The same for a group message (PROTOCOL.md §3.10).
  Result<uint64_t> SendToGroup(uint64_t group_id, std::string text);

  // Processes IO for at most timeout_ms: writes queued frames, reads and handles whatever
  // arrives, sends heartbeats. Returns last_error() once disconnected.
  Status Poll(int timeout_ms);
  // Polls until `done()` is true (ok), the connection ends (last_error()) or timeout_ms passes
  // (kTimeout naming `what`).
  Status WaitUntil(const std::function<bool()>& done, int timeout_ms, const std::string& what);
  // The SendAck for client_seq (ok or a refusal). Errors: as WaitUntil.
  Result<wire::SendAck> WaitForAck(uint64_t client_seq, int timeout_ms);
  // Until inbox().size() >= n.
  Status WaitForItems(size_t n, int timeout_ms);
  // Ping round trip: when it returns ok, the server has processed every frame sent before.
  Status RoundTrip(int timeout_ms);
  // Sends the InboxAck held back while auto_ack is off.
  Status AckInbox();

  // ---- requests (authenticated; each waits up to io_timeout_ms) ----
  Result<uint64_t> ResolvePhone(const std::string& phone);  // 0 = not registered
  Result<wire::LinkCode> CreateLinkCode();
  Result<std::vector<wire::DeviceInfo>> ListDevices();
  Status UnlinkDevice(uint32_t device_id);  // the Reply status
  // Groups. CreateGroup/GetGroup return the GroupInfo (errors: its status, e.g. kNotFound);
  // ChangeGroup returns the chat seq of the membership event (errors: the Reply status, e.g.
  // kForbidden for a non-admin).
  Result<wire::GroupInfo> CreateGroup(const std::string& name, std::vector<uint64_t> members);
  Result<uint64_t> ChangeGroup(uint64_t group_id, wire::GroupOp op, uint64_t user_id = 0,
                               const std::string& name = "");
  Result<wire::GroupInfo> GetGroup(uint64_t group_id);
  // Media (PROTOCOL.md §5). Tickets: a presigned PUT for a file of `size` bytes with that
  // SHA-256 (32 raw bytes), or a presigned GET of a received asset (errors: the ticket's
  // status: kForbidden when not allowed, kNotFound, kInvalidArgument). Move the bytes with
  // tools/client/blob_client.h, then SendMedia the reference.
  // `asset_id` nonzero: a fresh URL for that unfinished upload of ours (resume after the
  // first URL expired or the process restarted).
  Result<wire::AssetTicket> GetUploadTicket(uint64_t size, const std::string& mime, const std::string& sha256,
                                            uint64_t asset_id = 0);
  Result<wire::AssetTicket> GetDownloadTicket(uint64_t asset_id);
  Result<uint64_t> SendMedia(uint64_t to_user, uint64_t group_id, std::vector<wire::AssetRef> assets,
                             std::string caption);

  // ---- receipts, presence, profiles, contacts (PROTOCOL.md §3.11-§3.13) ----
  // "I read the 1:1 chat with peer_user (or group group_id) up to chat_seq"; waits for the Reply,
  // then moves the history's read position.
  Status MarkRead(uint64_t peer_user, uint64_t group_id, uint64_t chat_seq);
  Result<wire::ReceiptList> GetReceipts(uint64_t peer_user, uint64_t group_id);
  // Replaces the watched users and flushes (answered by a Presence snapshot).
  Status Watch(std::vector<uint64_t> users);
  Status SetActive(bool active);
  Status SetProfile(const wire::SetProfile& change);
  Result<std::vector<wire::Profile>> GetProfiles(std::vector<uint64_t> users);
  // Which of `phones` are registered (each becomes a contact). kRateLimited when the budget is
  // spent: the message says when to retry.
  Result<std::vector<wire::Profile>> SyncContacts(std::vector<std::string> phones);

  // ---- closing ----
  void Close();           // flush, half-close, drain (bounded), close
  void Abort(bool rst);   // drop at once without flushing (rst: TCP reset)

  bool connected() const { return transport_ != nullptr; }
  bool authenticated() const { return connected() && core_.authenticated(); }
  const Status& last_error() const { return core_.last_error(); }
  const ClientState& state() const { return core_.state(); }
  const std::optional<wire::Welcome>& welcome() const { return core_.welcome(); }
  const std::vector<wire::InboxItem>& inbox() const { return core_.inbox(); }
  const std::vector<wire::InboxItem>& receipts() const { return core_.receipts(); }
  const ClientCore::Counters& counters() const { return core_.counters(); }
  // The local history, or null (see Options::history).
  History* history() const { return core_.history(); }
  ClientCore& core() { return core_; }
  const ClientCore& core() const { return core_; }
  const Options& options() const { return options_; }
  // The current connection's transport (a TlsTransport when options().tls.enabled), or null.
  Transport* transport() const { return transport_.get(); }
  // The current connection's protocol session (byte and frame counters per message type),
  // nullptr before the first connection.
  const wire::Session* session() const { return session_.get(); }

 private:
  Client(Options options, std::unique_ptr<StateStore> store, ClientState state, std::unique_ptr<History> history);
  Status Connect();
  Status EnsureHandshakeConnection();
  Result<wire::Welcome> Handshake(const wire::Message& first);
  Result<wire::Message> Request(wire::Message request);
  // Moves the core's outgoing messages into the session and the session's bytes to out_.
  void Stage();
  // Writes out_ completely (reading input meanwhile) within timeout_ms.
  Status Flush(int timeout_ms);
  // Reads what is available; returns false when the connection ended.
  bool ReadAvailable();
  // Hands decoded messages to the core; disconnects on an Error or a session failure.
  void Dispatch();
  void Disconnect(const Status& why);

  Options options_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<History> owned_history_;
  ClientCore core_;
  std::unique_ptr<TlsClientContext> tls_;  // created on the first TLS connection
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<wire::Session> session_;
  std::string out_;
};

}  // namespace tern::tools
