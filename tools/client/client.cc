#include "tools/client/client.h"

#include <algorithm>
#include <limits>
#include <span>
#include <utility>

namespace tern::tools {
namespace {

int ClampMs(uint64_t ms) {
  return static_cast<int>(std::min<uint64_t>(ms, std::numeric_limits<int>::max()));
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Create(Options options) {
  auto store = std::make_unique<StateStore>(options.state_path);
  Result<ClientState> state = store->Load();
  if (!state.ok()) return state.status();
  std::unique_ptr<History> history;
  if (options.history == nullptr && options.keep_history) {
    std::string path = !options.history_path.empty() ? options.history_path
                       : !options.state_path.empty() ? options.state_path + ".history"
                                                     : "";
    if (!path.empty()) {
      auto h = History::Open(path, options.history_options);
      if (!h.ok()) return h.status();
      history = std::move(h).value();
    }
  }
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(store), std::move(state).value(), std::move(history)));
}

Client::Client(Options options, std::unique_ptr<StateStore> store, ClientState state, std::unique_ptr<History> history)
    : options_(std::move(options)),
      store_(std::move(store)),
      owned_history_(std::move(history)),
      core_(store_.get(), std::move(state), options_.core) {
  core_.set_history(options_.history != nullptr ? options_.history : owned_history_.get());
}

Client::~Client() { Abort(false); }

void Client::set_server(std::string host, uint16_t port) {
  options_.host = std::move(host);
  options_.port = port;
}

Status Client::Connect() {
  Abort(false);
  Result<std::unique_ptr<Transport>> t = Status(Code::kInternal, "no transport");
  if (options_.tls.enabled) {
    if (!tls_) {
      TlsOptions to = options_.tls;
      if (to.session_path.empty() && !options_.state_path.empty()) to.session_path = options_.state_path + ".tls";
      auto ctx = TlsClientContext::Create(to);
      if (!ctx.ok()) return ctx.status();
      tls_ = std::move(ctx).value();
    }
    auto tls = TlsTransport::Connect(*tls_, options_.host, options_.port, options_.io_timeout_ms);
    if (tls.ok()) t = std::unique_ptr<Transport>(std::move(tls).value());
    else t = tls.status();
  } else {
    auto tcp = TcpTransport::Connect(options_.host, options_.port, options_.io_timeout_ms);
    if (tcp.ok()) t = std::unique_ptr<Transport>(std::move(tcp).value());
    else t = tcp.status();
  }
  if (!t.ok()) {
    core_.OnDisconnected(t.status());
    return t.status();
  }
  transport_ = std::move(t).value();
  wire::Session::Options so;
  so.max_frame = options_.max_frame;
  session_ = std::make_unique<wire::Session>(wire::Session::Role::kClient, so);
  out_.clear();
  core_.OnConnected(SteadyNowMs());
  return Status::Ok();
}

Status Client::EnsureHandshakeConnection() {
  if (connected() && session_->state() == wire::Session::State::kHandshake) return Status::Ok();
  return Connect();
}

Result<wire::CodeSent> Client::RequestCode(const std::string& phone) {
  TERN_RETURN_IF_ERROR(EnsureHandshakeConnection());
  session_->Send(wire::RequestCode{wire::kProtocolVersion, phone});
  Status st = WaitUntil([this] { return core_.code_sent().has_value(); }, options_.io_timeout_ms,
                        "CodeSent");
  if (!st.ok()) return st;
  return *core_.code_sent();
}

Result<wire::Welcome> Client::Verify(const std::string& phone, const std::string& code,
                                     const std::string& device_name) {
  TERN_RETURN_IF_ERROR(EnsureHandshakeConnection());
  return Handshake(core_.MakeVerify(phone, code, device_name));
}

Result<wire::Welcome> Client::Link(const std::string& link_code,
                                   const std::string& device_name) {
  TERN_RETURN_IF_ERROR(EnsureHandshakeConnection());
  return Handshake(core_.MakeLink(link_code, device_name));
}

Result<wire::Welcome> Client::Resume() {
  if (!core_.state().registered()) {
    return Status(Code::kInvalidArgument, "no device credentials: run verify or link first");
  }
  TERN_RETURN_IF_ERROR(Connect());
  return Handshake(core_.MakeResume());
}

Result<wire::Welcome> Client::Handshake(const wire::Message& first) {
  session_->Send(first);
  Status st = WaitUntil([this] { return core_.welcome().has_value(); }, options_.io_timeout_ms,
                        "Welcome");
  if (!st.ok()) return st;
  // Resent sends were queued by the core on Welcome: put them on the wire now.
  Stage();
  st = Flush(options_.io_timeout_ms);
  if (!st.ok()) return st;
  return *core_.welcome();
}

Result<uint64_t> Client::Send(uint64_t to_user, std::string text) {
  Result<uint64_t> seq = core_.Send(to_user, std::move(text));
  if (!seq.ok() || !connected()) return seq;
  Stage();
  Flush(options_.io_timeout_ms).IgnoreError();  // a drop leaves it pending: not a Send error
  return seq;
}

Result<uint64_t> Client::SendToGroup(uint64_t group_id, std::string text) {
  Result<uint64_t> seq = core_.SendToGroup(group_id, std::move(text));
  if (!seq.ok() || !connected()) return seq;
  Stage();
  Flush(options_.io_timeout_ms).IgnoreError();  // a drop leaves it pending: not a Send error
  return seq;
}

Result<uint64_t> Client::SendMedia(uint64_t to_user, uint64_t group_id, std::vector<wire::AssetRef> assets,
                                   std::string caption) {
  Result<uint64_t> seq = core_.SendMedia(to_user, group_id, std::move(assets), std::move(caption));
  if (!seq.ok() || !connected()) return seq;
  Stage();
  Flush(options_.io_timeout_ms).IgnoreError();  // a drop leaves it pending: not a Send error
  return seq;
}

void Client::Stage() {
  if (!connected()) return;
  for (wire::Message& m : core_.TakeOutgoing(SteadyNowMs())) session_->Send(m);
  out_ += session_->TakeOutput();
}

Status Client::Flush(int timeout_ms) {
  const uint64_t deadline = SteadyNowMs() + static_cast<uint64_t>(std::max(timeout_ms, 0));
  while (connected() && !out_.empty()) {
    Result<size_t> n = transport_->WriteSome(out_);
    if (!n.ok()) {
      Disconnect(n.status());
      break;
    }
    out_.erase(0, *n);
    if (out_.empty()) break;
    uint64_t now = SteadyNowMs();
    if (now >= deadline) return Status(Code::kTimeout, "write timed out");
    // Keep reading while the peer is not reading: both sides blocked on write would deadlock.
    auto ready = transport_->Wait(true, ClampMs(deadline - now));
    if (!ready.ok()) {
      Disconnect(ready.status());
      break;
    }
    if (ready->readable && !ReadAvailable()) break;
  }
  return connected() ? Status::Ok() : last_error();
}

bool Client::ReadAvailable() {
  char buf[64 * 1024];
  while (connected()) {
    bool eof = false;
    Result<size_t> n = transport_->ReadSome(buf, sizeof buf, &eof);
    if (!n.ok()) {
      Disconnect(n.status());
      return false;
    }
    if (*n == 0) {
      if (!eof) return true;
      Dispatch();  // frames that arrived before the close still count
      if (connected()) Disconnect(Status(Code::kUnavailable, "connection closed by server"));
      return false;
    }
    Status fed = session_->Feed(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(buf), *n));
    if (!fed.ok()) {
      Dispatch();
      if (connected()) Disconnect(fed);
      return false;
    }
    if (*n < sizeof buf) return true;
  }
  return false;
}

void Client::Dispatch() {
  if (!session_ || !connected()) return;
  while (std::optional<wire::Message> m = session_->NextEvent()) {
    Status st = core_.OnMessage(*m, SteadyNowMs());
    if (!st.ok()) {
      Disconnect(st);
      return;
    }
  }
  Status st = core_.PersistIfDirty();
  if (!st.ok()) {
    Disconnect(st);
    return;
  }
  if (session_->failed()) Disconnect(session_->failure());
}

void Client::Disconnect(const Status& why) {
  if (!transport_) return;  // the first reason wins
  transport_->Abort(false);
  transport_.reset();
  out_.clear();
  core_.OnDisconnected(why);
}

Status Client::Poll(int timeout_ms) {
  if (!connected()) return last_error();
  core_.Tick(SteadyNowMs());
  Dispatch();
  Stage();
  // A write that times out (the server is not reading) stays in out_ for the next Poll.
  Flush(options_.io_timeout_ms).IgnoreError();
  if (!connected()) return last_error();
  uint64_t now = SteadyNowMs();
  uint64_t next = core_.NextDeadline();
  int wait = std::max(timeout_ms, 0);
  if (next != std::numeric_limits<uint64_t>::max()) {
    wait = std::min(wait, next > now ? ClampMs(next - now) : 0);
  }
  auto ready = transport_->Wait(false, wait);
  if (!ready.ok()) {
    Disconnect(ready.status());
    return last_error();
  }
  if (ready->readable && !ReadAvailable()) return last_error();
  Dispatch();
  core_.Tick(SteadyNowMs());
  Stage();
  Flush(options_.io_timeout_ms).IgnoreError();
  return connected() ? Status::Ok() : last_error();
}

}  // namespace tern::tools
