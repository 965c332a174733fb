// Session: the sans-IO protocol state machine for one connection, either role.
//
// Bytes in (Feed), messages out (NextEvent), messages in (Send), bytes out (TakeOutput).
// No sockets, no clock, no globals. The session enforces the framing rules, the pre-auth
// limits (only the handshake messages, each at most `max_preauth_frame` bytes), the direction
// of every message, and the auth state; the decisions (is this token valid? where does this
// message go?) belong to the caller (server core or client SDK).
//
// State: kHandshake -> kAuthenticated (server: when it Sends a Welcome; client: when it
// receives one) ; any -> kFailed (sticky) on a violation. In the server role a violation
// queues an Error frame, so the caller writes TakeOutput() once more and then closes.
//
// Compression (PROTOCOL.md §2.3): the Welcome carries the dictionary the server chose from the
// dict_ids of the client's Verify/Link/Resume. From the Welcome on (server: once it Sends it;
// client: once it receives it, so frames behind it in the same read already count) both sides
// compress each frame whose compressed body is smaller, and accept compressed frames. Error
// frames are never compressed. The session records which ids the client offered and rejects
// a Welcome that chose another one.
//
// Thread safety: owned by one connection; not thread-safe.
#pragma once

#include <array>
#include <memory>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "wire/frame.h"
#include "wire/messages.h"
#include "wire/status.h"

namespace tern::wire {

class Session {
 public:
  enum class Role : uint8_t { kClient, kServer };
  enum class State : uint8_t { kHandshake, kAuthenticated, kFailed };
  struct Options {
    size_t max_frame = 256 * 1024;     // largest body accepted after authentication
    size_t max_preauth_frame = 1024;   // largest body accepted before authentication
    DecodeLimits decode;
    // Keep per-message-type counters (traffic_in/out). ~1.5 KiB per session: clients, tools
    // and benches want them; the server, holding thousands of idle sessions, turns them off.
    bool track_traffic = true;
  };

  Session(Role role, Options options);
  // The same with options shared by many sessions (a server's thousands of connections hold
  // one copy, not one each).
  Session(Role role, std::shared_ptr<const Options> options);

  // Consumes all of `bytes`, decoding every complete frame into the event queue.
  // Errors (the session is then kFailed and every later Feed returns the same error):
  //  kFrameTooLarge  declared length over the current limit
  //  kProtocol       bad header/flags, verifier failure, message in the wrong direction,
  //                  handshake message after authentication, compressed frame when nothing
  //                  was negotiated, bad zstd data or a decompressed size over the frame
  //                  limit, a Welcome choosing a dictionary the client did not offer
  //  kUnauthenticated a post-auth message before authentication
  //  (client role) the Error message received from the server, with its code.
  Status Feed(std::span<const uint8_t> bytes);

  // The next decoded message, in arrival order; nullopt when none is pending.
  std::optional<Message> NextEvent();

  // Frames `m` into the output buffer. A server Sending Welcome becomes authenticated.
  // Sending an Error fails the session (after queuing the frame). Sending in kFailed is a no-op.
  void Send(const Message& m);

  // Marks the session failed with `status` and (server role) queues an Error frame for it.
  void Fail(const Status& status);

  // Takes (moves out) every byte queued for the peer.
  std::string TakeOutput();
  bool has_output() const { return !out_.empty(); }
  size_t output_size() const { return out_.size(); }

  State state() const { return state_; }
  bool authenticated() const { return state_ == State::kAuthenticated; }
  bool failed() const { return state_ == State::kFailed; }
  const Status& failure() const { return failure_ ? *failure_ : kNoFailure; }

  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }
  uint64_t frames_in() const { return frames_in_; }
  uint64_t frames_out() const { return frames_out_; }

  // The negotiated dictionary id (wire/compress.h); kDictNone before the Welcome or when the
  // peers agreed on none.
  uint32_t dict_id() const { return dict_id_; }

  // Traffic per message type (index = Message::index()), for byte budgets and metrics.
  struct Traffic {
    uint64_t frames = 0;
    uint64_t wire_bytes = 0;   // frame header + body as it crossed the wire
    uint64_t body_bytes = 0;   // FlatBuffer bytes before compression / after decompression
    uint64_t compressed = 0;   // frames sent/received compressed
  };
  using TrafficByType = std::array<Traffic, std::variant_size_v<Message>>;
  // All zero when Options::track_traffic is off.
  const TrafficByType& traffic_in() const { return traffic_ ? traffic_->in : kNoTraffic; }
  const TrafficByType& traffic_out() const { return traffic_ ? traffic_->out : kNoTraffic; }

 private:
  Status Check(const Message& m) const;
  Status OnWelcome(const Welcome& w);

  // Largest members first, small ones last: no padding holes (a server holds thousands).
  static const Status kNoFailure;
  std::shared_ptr<const Options> options_;
  std::unique_ptr<Status> failure_;  // set once failed: 8 bytes, not 40, while healthy
  FrameDecoder decoder_;
  // Decoded, not yet taken. A vector and a read index rather than a std::deque, whose
  // libstdc++ constructor allocates ~600 bytes: this is per connection, mostly idle.
  std::vector<Message> events_;
  size_t events_head_ = 0;
  std::string out_;
  std::vector<uint32_t> offered_;  // client role: dict_ids of the handshake we sent
  struct TrafficBoth {
    TrafficByType in{}, out{};
  };
  static const TrafficByType kNoTraffic;
  std::unique_ptr<TrafficBoth> traffic_;  // null unless Options::track_traffic
  uint64_t bytes_in_ = 0, bytes_out_ = 0, frames_in_ = 0, frames_out_ = 0;
  uint32_t dict_id_ = 0;
  Role role_;
  State state_ = State::kHandshake;
};

}  // namespace tern::wire
