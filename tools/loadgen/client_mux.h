// ClientMux: many Tern device sessions driven by one thread, over non-blocking TCP and one
// poll(2) per turn. Each device is the same pair tools::Client runs (a ClientCore for the
// protocol decisions and a wire::Session for the frames), minus the blocking socket: a
// workload with hundreds of devices (bench/e2e_fanout.cc) needs neither a thread per device
// (which on a 2-core machine would measure the scheduler) nor a serial handshake per device.
//
// Devices enter with saved credentials (a registered ClientState, e.g. tools::Client::state()
// after Verify/Link: registration itself is rare and stays on the blocking Client). Connect
// starts a non-blocking connect and queues the Resume; every Turn then writes what the cores
// queued (Sends, InboxAcks, Pongs, heartbeats), reads what arrived and hands it to the cores.
// Items reach the app through each core's item callback, from inside Turn.
//
// Thread safety: not thread-safe; one owner thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/client/client_core.h"
#include "tools/client/client_state.h"
#include "wire/session.h"
#include "wire/status.h"

namespace tern::loadgen {

class ClientMux {
 public:
  // `ipv4` is a dotted IPv4 address (the benches use 127.0.0.1).
  ClientMux(std::string ipv4, uint16_t port);
  ~ClientMux();  // drops every open connection
  ClientMux(const ClientMux&) = delete;
  ClientMux& operator=(const ClientMux&) = delete;

  // Adds a device (no connection yet); returns its index. Precondition: state.registered().
  size_t Add(tools::ClientState state, tools::ClientCore::Options options = {});

  // Starts a non-blocking connect for device i and queues its Resume (the handshake completes
  // in later Turns: authenticated(i)). A connection still open is dropped first.
  // Errors: kInvalidArgument (bad address), kUnavailable (socket/connect failed at once).
  Status Connect(size_t i);
  // Orderly close: writes what is queued, half-closes, and drops the connection once the
  // server's EOF arrives (in a later Turn; closed(i) then holds). Pending sends stay pending.
  void Close(size_t i);

  // One turn: stages every connected core's outgoing messages (after a Tick), polls every open
  // socket for up to timeout_ms, then reads, dispatches and writes. A connection that ends
  // (EOF, reset, Error frame, protocol violation) is dropped with error(i) saying why; that is
  // not an error of Turn. Errors: kInternal (poll itself failed).
  Status Turn(int timeout_ms);

  size_t size() const { return devices_.size(); }
  tools::ClientCore& core(size_t i) { return devices_[i]->core; }
  const tools::ClientCore& core(size_t i) const { return devices_[i]->core; }
  bool open(size_t i) const { return devices_[i]->fd >= 0; }
  bool authenticated(size_t i) const { return open(i) && devices_[i]->core.authenticated(); }
  // Closed by Close() and the EOF came back (or never connected).
  bool closed(size_t i) const { return devices_[i]->fd < 0; }
  // Why device i's last connection ended (ok while it lasts or after an orderly Close).
  const Status& error(size_t i) const { return devices_[i]->error; }

 private:
  struct Device {
    Device(tools::ClientState state, tools::ClientCore::Options options);
    std::unique_ptr<tools::StateStore> store;  // in memory
    tools::ClientCore core;
    std::unique_ptr<wire::Session> session;
    std::string out;
    int fd = -1;
    bool connecting = false;  // connect() in progress
    bool closing = false;     // half-closed by Close(); waiting for the server's EOF
    Status error;
  };
  void Stage(Device& d, uint64_t now_ms);
  void WriteSome(Device& d);
  void ReadSome(Device& d);
  void Dispatch(Device& d);
  void Drop(Device& d, const Status& why);

  std::string ip_;
  uint16_t port_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<char> buf_;
};

}  // namespace tern::loadgen
