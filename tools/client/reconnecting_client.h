// ReconnectingClient: keeps a Client (tools/client/client.h) connected over a weak link.
//
// The Client is one connection's worth of protocol; this wrapper adds what a phone needs on
// 2G/3G (wire/PROTOCOL.md §3.5 and §3.9), with the decisions in LinkPolicy
// (tools/client/link_policy.h, sans-IO):
//  * it reconnects with Resume after every drop, with exponential backoff and jitter; the
//    Client resends only the sends the server has not accepted (those above
//    Welcome.client_seq_high), and drops duplicate deliveries by inbox seq;
//  * it notices a dead link (a black hole: no FIN, no RST) quickly: once it waits for an
//    answer -- a Send not yet acknowledged or a heartbeat Ping not yet answered -- and no byte
//    arrives for policy().dead_after_ms(), it aborts the connection and reconnects, rather than
//    waiting minutes for TCP to give up;
//  * it sets the Client's heartbeat interval from the policy, which adapts it below the
//    server's advertised heartbeat_ms when idle connections keep dying.
// Sends go through Send() (or straight to client().Send(): they are stored durably either way
// and reach the server after the next successful resume).
//
// Permanent failures stop the retrying: a revoked device (kBadCredentials) or one that never
// registered (kInvalidArgument) is returned by Poll, and every later Poll returns it again.
//
// Thread safety: not thread-safe; one owner. Time comes from SteadyNowMs().
#pragma once

#include <cstdint>
#include <string>

#include "tools/client/client.h"
#include "tools/client/link_policy.h"
#include "wire/status.h"

namespace tern::tools {

class ReconnectingClient {
 public:
  struct Options {
    LinkPolicy::Options policy;
    uint64_t seed = 0;  // backoff jitter; 0 = derived from the device and the clock
  };
  struct Counters {
    uint64_t connects = 0;          // successful handshakes (the first one included)
    uint64_t connect_failures = 0;  // attempts that failed (refused, timed out, lost Welcome)
    uint64_t drops = 0;             // authenticated connections that ended
    uint64_t dead_links = 0;        // of those, declared dead by the answer timeout
    uint64_t last_handshake_ms = 0; // connect + Resume -> Welcome of the latest success
  };

  // `client` is not owned and must outlive this; it must hold device credentials.
  ReconnectingClient(Client* client, Options options);

  // One step of at most about timeout_ms (a reconnect attempt may take up to the Client's
  // io_timeout_ms): reconnects when due, else polls the connection and checks its liveness.
  // Returns ok, or a permanent failure (see above).
  Status Poll(int timeout_ms);
  // Client::Send: stored durably, written now if connected, resent after a reconnect if need be.
  Result<uint64_t> Send(uint64_t to_user, std::string text);
  // Reconnect at the next Poll, skipping the backoff (e.g. the OS reports a new network).
  void ReconnectNow() { next_attempt_ms_ = 0; }

  Client& client() { return *client_; }
  const LinkPolicy& policy() const { return policy_; }
  const Counters& counters() const { return counters_; }

 private:
  Status Reconnect(uint64_t now_ms);
  void Lost(uint64_t now_ms);
  // Grows with every frame and every byte received (a large Deliver crawling over 2G keeps the
  // link alive before its last byte arrives); changes on each new connection.
  uint64_t InboundProgress() const;

  Client* client_;
  LinkPolicy policy_;
  Counters counters_;
  Status permanent_;
  bool was_authenticated_ = false;
  uint64_t next_attempt_ms_ = 0;
  uint64_t inbound_ = 0;          // InboundProgress() at the last look
  uint64_t last_inbound_ms_ = 0;  // when something last arrived
  uint64_t expect_since_ms_ = 0;  // waiting for an answer since (0 = not waiting)
  uint64_t pings_seen_ = 0;       // counters().pings_sent at the last look
  uint64_t ping_nonce_ = 0;       // heartbeat Ping awaiting its Pong (0 = none)
  uint64_t ping_sent_ms_ = 0;
};

}  // namespace tern::tools
