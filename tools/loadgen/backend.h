// The two interfaces tern-loadgen's workloads run on, so the same workload code (and the same
// exactly-once / order checks) drives Tern (tools/loadgen/tern_backend.h) and, for the
// side-by-side comparison, Mosquitto (bench/mqtt_backend.h).
//
//   Backend   one server under test: start it (or attach to a running one), crash it with
//             kill -9 and restart it on the same data, register users and their devices,
//             make groups of users.
//   Endpoint  one device's connection: connect/resume, send a text to a user or a group, poll
//             IO. Deliveries come back through the callback given at registration.
//
// Users and groups are numbered 0..n-1 by the workload; a backend maps the numbers to its own
// ids (Tern user and group ids, MQTT topics). Every text a workload sends carries
// "lg <from> <n> <t_ns> " and padding (MakeText), so any backend's delivery can be checked for
// order and duplicates and timed, without the backend adding anything.
//
// Thread safety: an Endpoint belongs to one thread at a time. Backend::Register may be called
// from several threads at once for different users (device 0 of a user before its others).
// Start/Stop/CrashAndRestart/CreateGroup only while no Endpoint is in use.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.h"

namespace tern::loadgen {

// The text of message `n` (0, 1, 2, ... per sender and recipient) from user `from`, stamped
// with `t_ns` (NowNs() when it was due), padded to at least `bytes` bytes.
std::string MakeText(uint32_t from, uint64_t n, int64_t t_ns, size_t bytes);
struct TextFields {
  uint32_t from = 0;
  uint64_t n = 0;
  int64_t t_ns = 0;
};
// nullopt when `text` is not a MakeText text.
std::optional<TextFields> ParseText(std::string_view text);

using DeliverFn = std::function<void(std::string_view text)>;

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  // (Re)connects and resumes the device's session (Tern Resume, MQTT clean_session=false)
  // and waits for the server's answer. Errors: transport errors, kTimeout.
  virtual Status Connect() = 0;
  // Closes the connection cleanly (what was written is flushed first). Idempotent.
  virtual void Close() = 0;
  // Writes one message for user `to` (not yet acknowledged: see acked()).
  // Errors: not connected, the server refused.
  virtual Status Send(uint32_t to, std::string text) = 0;
  // Writes one message to group `group` (made by Backend::CreateGroup; this device's user is a
  // member), counted in sent/acked/refused like Send. It reaches every device of every member
  // except this one (the sender's other devices included). Errors: not connected, unknown
  // group, the server refused.
  virtual Status SendToGroup(uint32_t group, std::string text) = 0;
  // Does IO for at most timeout_ms: delivers what arrived, counts acks.
  // Errors: the connection ended.
  virtual Status Poll(int timeout_ms) = 0;
  virtual bool connected() const = 0;
  virtual uint64_t sent() const = 0;     // Send calls that succeeded
  virtual uint64_t acked() const = 0;    // sends the server acknowledged as accepted
  virtual uint64_t refused() const = 0;  // sends the server refused
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "tern", "mosquitto"
  // One line on what runs: binary, transport, durability settings.
  virtual std::string Describe() const = 0;
  // Spawns the server on a fresh data directory, or checks that the target answers.
  virtual Status Start() = 0;
  // Stops a spawned server (SIGTERM, bounded) and removes its data. No-op when attached.
  virtual Status Stop() = 0;
  // kill -9 the spawned server and start it again on the same data. Endpoints reconnect with
  // Connect(). Errors: kInvalidArgument when attached to a server this process did not spawn.
  virtual Status CrashAndRestart() = 0;
  virtual bool can_crash() const = 0;
  // The server's pid (for /proc CPU and RSS), 0 when unknown.
  virtual pid_t server_pid() const = 0;
  // A new device `device` of user `user`, connected and able to receive. Device 0 creates the
  // user; device k > 0 is linked to it through `primary` (device 0's endpoint, idle meanwhile).
  // `on_deliver` is called from Poll and Connect with each new message's text.
  virtual Result<std::unique_ptr<Endpoint>> Register(uint32_t user, uint32_t device,
                                                     Endpoint* primary, DeliverFn on_deliver) = 0;
  // Makes the users `members` (members[0] is the creator, whose connected endpoint `creator`
  // asks for it; it is a member too) group number `group`. `devices` are the endpoints of
  // every device of every member, connected and idle (creator included). Returns once each of
  // them receives what is sent to the group from then on, also after a reconnect. Call while
  // no endpoint is in use. Errors: the server refused (e.g. more members than it allows in a
  // group), IO errors, kTimeout.
  virtual Status CreateGroup(uint32_t group, const std::vector<uint32_t>& members,
                             Endpoint& creator, const std::vector<Endpoint*>& devices) = 0;
};

}  // namespace tern::loadgen
