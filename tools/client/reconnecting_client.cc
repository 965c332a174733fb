#include "tools/client/reconnecting_client.h"

#include <poll.h>

#include <algorithm>

namespace tern::tools {
namespace {

uint64_t SeedFor(const Client& c, uint64_t seed) {
  if (seed != 0) return seed;
  return c.state().user_id * 31 + c.state().device_id * 7919 + SteadyNowMs();
}

bool Permanent(Code c) { return c == Code::kBadCredentials || c == Code::kInvalidArgument; }

}  // namespace

ReconnectingClient::ReconnectingClient(Client* client, Options options)
    : client_(client), policy_(options.policy, SeedFor(*client, options.seed)) {}

uint64_t ReconnectingClient::InboundProgress() const {
  const ClientCore::Counters& c = client_->counters();
  const wire::Session* s = client_->session();
  return c.deliver_frames + c.acks_received + c.pongs_received + c.welcomes +
         (s != nullptr ? s->bytes_in() : 0);
}

Result<uint64_t> ReconnectingClient::Send(uint64_t to_user, std::string text) {
  return client_->Send(to_user, std::move(text));
}

Status ReconnectingClient::Reconnect(uint64_t now_ms) {
  if (client_->connected()) client_->Abort(false);  // a handshake that never finished
  const uint64_t t0 = SteadyNowMs();
  Result<wire::Welcome> w = client_->Resume();
  const uint64_t t1 = SteadyNowMs();
  if (!w.ok()) {
    if (Permanent(w.status().code())) {
      permanent_ = w.status();
      return permanent_;
    }
    ++counters_.connect_failures;
    if (client_->connected()) client_->Abort(false);
    next_attempt_ms_ = policy_.OnConnectFailed(t1);
    return Status::Ok();
  }
  (void)now_ms;
  ++counters_.connects;
  counters_.last_handshake_ms = t1 - t0;
  policy_.OnConnected(w->heartbeat_ms, t1 - t0);
  was_authenticated_ = true;
  inbound_ = InboundProgress();
  last_inbound_ms_ = t1;
  expect_since_ms_ = 0;
  pings_seen_ = client_->counters().pings_sent;
  ping_nonce_ = 0;
  return Status::Ok();
}

void ReconnectingClient::Lost(uint64_t now_ms) {
  ++counters_.drops;
  was_authenticated_ = false;
  // Idle: nothing of ours in flight and the link had been quiet (a NAT timeout looks so).
  const uint32_t hb = policy_.heartbeat_ms();
  bool idle = client_->state().unacked.empty() && hb != 0 && now_ms - last_inbound_ms_ >= hb / 2;
  next_attempt_ms_ = policy_.OnDisconnected(now_ms, idle);
}

Status ReconnectingClient::Poll(int timeout_ms) {
  if (!permanent_.ok()) return permanent_;
  uint64_t now = SteadyNowMs();
  if (!client_->authenticated()) {
    if (was_authenticated_) Lost(now);
    if (now < next_attempt_ms_) {
      // Backoff: nothing to do until the next attempt (or the caller's bound).
      int wait = static_cast<int>(std::min<uint64_t>(next_attempt_ms_ - now,
                                                     static_cast<uint64_t>(std::max(timeout_ms, 0))));
      if (wait > 0) ::poll(nullptr, 0, wait);
      return Status::Ok();
    }
    return Reconnect(now);
  }

  client_->core().options().heartbeat_ms = policy_.heartbeat_ms();
  client_->Poll(timeout_ms).IgnoreError();  // a drop shows up as !authenticated() below
  now = SteadyNowMs();
  const ClientCore::Counters& c = client_->counters();
  const uint64_t inbound = InboundProgress();
  if (inbound != inbound_) {
    inbound_ = inbound;
    last_inbound_ms_ = now;
    if (expect_since_ms_ != 0) expect_since_ms_ = now;  // the link is alive: restart the clock
  }
  if (c.pings_sent != pings_seen_) {
    // The Client sent a heartbeat (its nonce is the count of pings sent so far).
    pings_seen_ = c.pings_sent;
    ping_nonce_ = c.pings_sent;
    ping_sent_ms_ = now;
  }
  if (ping_nonce_ != 0 && client_->core().pong_received(ping_nonce_)) {
    policy_.OnRttSample(now - ping_sent_ms_);
    policy_.OnIdleHeartbeatAnswered();
    ping_nonce_ = 0;
  }
  if (!client_->authenticated()) {
    Lost(now);
    return Status::Ok();
  }
  const bool waiting = !client_->state().unacked.empty() || ping_nonce_ != 0;
  if (!waiting) {
    expect_since_ms_ = 0;
  } else if (expect_since_ms_ == 0) {
    expect_since_ms_ = now;
  } else if (now - expect_since_ms_ >= policy_.dead_after_ms()) {
    ++counters_.dead_links;
    client_->Abort(false);
    Lost(now);
  }
  return Status::Ok();
}

}  // namespace tern::tools
