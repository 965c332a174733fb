// MqttBackend: tern-loadgen's Backend (tools/loadgen/backend.h) for Mosquitto, through
// libmosquitto, so bench/mqtt_loadgen.cc runs exactly tern-loadgen's workloads and checks
// against the closest peer.
//
// What runs, chosen to be Mosquitto's fair counterpart of Tern's guarantees:
//   * a fresh `mosquitto -c <tmp>/mosquitto.conf` per workload: listener on a free loopback
//     port, persistence on (persistence_location in the temp dir, autosave_interval 1800 s,
//     the default), queues unbounded (max_queued_messages 1000000, like Tern's 100000 cap
//     this never binds), max_inflight_messages 1024 (Tern's delivery window), TCP_NODELAY;
//   * every device is an MQTT client "lg<run>u<user>d<device>" with clean_session=false
//     (a persistent session), subscribed at QoS 1 to its user's topic "tern/u/<user>" (the
//     per-recipient topic); a send is a QoS 1 PUBLISH there, its ack the PUBACK;
//   * a group is the topic "g/<group>": CreateGroup subscribes every member device to it at
//     QoS 1 (in the same persistent session); a group send is one QoS 1 PUBLISH there. MQTT
//     3.1.1 has no "no local": the broker also sends the publisher its own message, which the
//     endpoint drops on arrival (Tern never delivers a message to the device that sent it);
//   * the payload carries the fields of a Tern inbox item: msg_id, sender user, sender device,
//     recipient user (the group number for a group send), chat seq, timestamp (44 bytes,
//     little-endian), then the text;
//   * IO without libmosquitto's threads: poll(2) on mosquitto_socket() and
//     mosquitto_loop_read/write/misc, so any descriptor number works (idle uses thousands).
//
// Thread safety: as Backend.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/loadgen/backend.h"
#include "tools/loadgen/proc.h"

namespace tern::bench {

class MqttBackend final : public loadgen::Backend {
 public:
  struct Options {
    std::string mosquitto_path = "/usr/sbin/mosquitto";  // empty: attach to `server`
    std::string server;  // HOST:PORT of a running broker (no crash test then)
    pid_t server_pid = 0;
    int io_timeout_ms = 10000;
  };
  explicit MqttBackend(Options options);
  ~MqttBackend() override;

  std::string name() const override { return "mosquitto"; }
  std::string Describe() const override;
  Status Start() override;
  Status Stop() override;
  Status CrashAndRestart() override;
  bool can_crash() const override { return !options_.mosquitto_path.empty(); }
  pid_t server_pid() const override;
  Result<std::unique_ptr<loadgen::Endpoint>> Register(uint32_t user, uint32_t device,
                                                      loadgen::Endpoint* primary,
                                                      loadgen::DeliverFn on_deliver) override;
  // Subscribes each of `devices` to "g/<group>" at QoS 1, one SUBACK at a time (no request
  // to the broker for the group itself: a topic exists by being used). Errors: IO, kTimeout.
  Status CreateGroup(uint32_t group, const std::vector<uint32_t>& members,
                     loadgen::Endpoint& creator,
                     const std::vector<loadgen::Endpoint*>& devices) override;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  int io_timeout_ms() const { return options_.io_timeout_ms; }

 private:
  Status SpawnBroker();

  Options options_;
  std::string dir_;
  std::string host_ = "127.0.0.1";
  uint16_t port_ = 0;
  unsigned run_id_ = 0;
  loadgen::ChildProcess child_;
};

}  // namespace tern::bench
