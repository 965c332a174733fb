// Tern's one error vocabulary: Code, Status and Result<T>.
//
// Used by every layer (wire, store, server, tools). Header-only, no dependencies beyond the
// standard library, so store/ can use it without linking wire's FlatBuffers/zstd.
//
// Three classes of failure (CONVENTIONS rule 6):
//  * the peer broke the protocol     -> Code in [100, 200): error frame, close that connection;
//  * a request was refused / env fail -> other codes: answered in-band, the connection stays;
//  * an invariant broke               -> abort(), never a Status.
// No exceptions on the data path. Thread safety: values, freely copyable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tern {

// Numeric values travel on the wire (SendAck.status, Reply.status, Error.code): never renumber.
enum class Code : uint16_t {
  kOk = 0,
  // Request-level refusals (connection stays up).
  kInvalidArgument = 1,   // a field is out of range (empty phone, text too long, ...)
  kNotFound = 2,          // unknown user / device / phone
  kForbidden = 3,         // authenticated but not allowed (not a chat member, not your device)
  kQueueFull = 4,         // a recipient device's offline queue is at its cap; message refused
  kRateLimited = 5,       // too many attempts; retry later
  kBadCredentials = 6,    // wrong token / OTP / link code (or revoked device)
  kExpired = 7,           // OTP or link code past its lifetime
  kTooManyDevices = 8,    // user already has the maximum number of linked devices
  kUnavailable = 9,       // environment failure (store commit/fsync failed): retry later
  kInternal = 10,         // unexpected server-side failure
  kCorrupt = 11,          // persisted data failed to decode (store level)
  kNoSpace = 12,          // store map or disk full
  // Protocol violations (error frame, then the connection is closed).
  kProtocol = 100,        // malformed frame, failed verification, message out of place
  kFrameTooLarge = 101,   // declared frame length over the limit (pre- or post-auth)
  kUnsupportedVersion = 102,
  kUnauthenticated = 103, // a post-auth message before authentication
  kTimeout = 104,         // handshake or heartbeat deadline passed
  kOverloaded = 105,      // peer did not read: outbound buffer over the hard limit
  kReplaced = 106,        // the same device connected again; this connection is superseded
  kShuttingDown = 107,    // server is stopping
};

constexpr bool IsProtocolViolation(Code c) { return static_cast<uint16_t>(c) >= 100; }

constexpr const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kForbidden: return "forbidden";
    case Code::kQueueFull: return "queue_full";
    case Code::kRateLimited: return "rate_limited";
    case Code::kBadCredentials: return "bad_credentials";
    case Code::kExpired: return "expired";
    case Code::kTooManyDevices: return "too_many_devices";
    case Code::kUnavailable: return "unavailable";
    case Code::kInternal: return "internal";
    case Code::kCorrupt: return "corrupt";
    case Code::kNoSpace: return "no_space";
    case Code::kProtocol: return "protocol";
    case Code::kFrameTooLarge: return "frame_too_large";
    case Code::kUnsupportedVersion: return "unsupported_version";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kTimeout: return "timeout";
    case Code::kOverloaded: return "overloaded";
    case Code::kReplaced: return "replaced";
    case Code::kShuttingDown: return "shutting_down";
  }
  return "unknown";
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const {
    return ok() ? "ok" : std::string(CodeName(code_)) + ": " + message_;
  }
  // Explicitly drop a status where ignoring it is the right call; say why at the call site.
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or a non-ok Status. Accessing value() of an error is an invariant violation.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Propagate a non-ok Status from an expression returning Status.
#define TERN_RETURN_IF_ERROR(expr)              \
  do {                                          \
    ::tern::Status tern_status_ = (expr);       \
    if (!tern_status_.ok()) return tern_status_; \
  } while (0)

}  // namespace tern
