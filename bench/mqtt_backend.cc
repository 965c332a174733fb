#include "bench/mqtt_backend.h"

#include <mosquitto.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <utility>

#include "tools/client/tcp_transport.h"

namespace tern::bench {
namespace {

using loadgen::DeliverFn;
using loadgen::NowNs;

constexpr int kStartTimeoutMs = 20000;
constexpr int kKeepaliveS = 600;   // longer than any workload: no pings needed
constexpr size_t kHeader = 44;     // msg_id, sender user, sender device, to user, chat seq, ts

std::string Topic(uint32_t user) { return "tern/u/" + std::to_string(user); }
std::string GroupTopic(uint32_t group) { return "g/" + std::to_string(group); }

void Put(std::string& s, uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}
uint64_t Get(const void* p, int bytes) {
  uint64_t v = 0;
  for (int k = 0; k < bytes; ++k) v |= uint64_t{static_cast<const unsigned char*>(p)[k]} << (8 * k);
  return v;
}

class MqttEndpoint final : public loadgen::Endpoint {
 public:
  MqttEndpoint(MqttBackend* b, unsigned run, uint32_t user, uint32_t device, DeliverFn fn)
      : backend_(b), user_(user), device_(device), on_deliver_(std::move(fn)) {
    const std::string id = "lg" + std::to_string(run) + "u" + std::to_string(user) + "d" +
                           std::to_string(device);
    m_ = mosquitto_new(id.c_str(), /*clean_session=*/false, this);
    if (m_ == nullptr) return;
    mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(m_, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(m_, 0);  // the workload's window is the limit
    mosquitto_connect_with_flags_callback_set(m_, [](mosquitto*, void* o, int rc, int flags) {
      auto* self = static_cast<MqttEndpoint*>(o);
      self->connack_ = true;
      self->connack_rc_ = rc;
      self->session_present_ = (flags & 1) != 0;
    });
    mosquitto_publish_callback_set(m_, [](mosquitto*, void* o, int) {
      ++static_cast<MqttEndpoint*>(o)->acked_;
    });
    mosquitto_subscribe_callback_set(m_, [](mosquitto*, void* o, int, int, const int*) {
      static_cast<MqttEndpoint*>(o)->suback_ = true;
    });
    mosquitto_message_callback_set(m_, [](mosquitto*, void* o, const mosquitto_message* msg) {
      auto* self = static_cast<MqttEndpoint*>(o);
      if (!self->on_deliver_) return;
      const auto len = static_cast<size_t>(msg->payloadlen);
      if (len < kHeader) {
        self->on_deliver_("");
        return;
      }
      // Our own group publish coming back (no "no local" in MQTT 3.1.1): not a delivery.
      if (Get(static_cast<const char*>(msg->payload) + 8, 8) == self->user_ &&
          Get(static_cast<const char*>(msg->payload) + 16, 4) == self->device_) {
        return;
      }
      self->on_deliver_(std::string_view(static_cast<const char*>(msg->payload) + kHeader,
                                         len - kHeader));
    });
  }
  ~MqttEndpoint() override {
    if (m_ != nullptr) mosquitto_destroy(m_);
  }
  bool created() const { return m_ != nullptr; }

  Status Connect() override {
    Close();
    connack_ = false;
    const int rc = mosquitto_connect(m_, backend_->host().c_str(), backend_->port(), kKeepaliveS);
    if (rc != MOSQ_ERR_SUCCESS) {
      return Status(Code::kUnavailable, std::string("mosquitto_connect: ") + mosquitto_strerror(rc));
    }
    TERN_RETURN_IF_ERROR(WaitFor([this] { return connack_; }, "CONNACK"));
    if (connack_rc_ != 0) return Status(Code::kUnavailable, "CONNACK refused");
    if (!session_present_) {  // first connection, or the broker lost the session
      TERN_RETURN_IF_ERROR(Subscribe(Topic(user_)));
      for (const std::string& t : groups_) TERN_RETURN_IF_ERROR(Subscribe(t));
    }
    return Status::Ok();
  }
  // Subscribes to group topic `topic` at QoS 1 and waits for the SUBACK; the persistent
  // session keeps it (and Connect subscribes again if the broker lost the session).
  Status Join(const std::string& topic) {
    TERN_RETURN_IF_ERROR(Subscribe(topic));
    if (std::find(groups_.begin(), groups_.end(), topic) == groups_.end()) groups_.push_back(topic);
    return Status::Ok();
  }
  void Close() override {
    if (mosquitto_socket(m_) >= 0) mosquitto_disconnect(m_);  // writes DISCONNECT, closes
  }
  Status Send(uint32_t to, std::string text) override {
    return Publish(Topic(to), to, std::move(text));
  }
  Status SendToGroup(uint32_t group, std::string text) override {
    return Publish(GroupTopic(group), group, std::move(text));
  }
  Status Poll(int timeout_ms) override {
    const int fd = mosquitto_socket(m_);
    if (fd < 0) return Status(Code::kUnavailable, "not connected");
    pollfd p{fd, static_cast<short>(POLLIN | (mosquitto_want_write(m_) ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, timeout_ms) < 0) return Status::Ok();  // EINTR: try again next time
    if ((p.revents & POLLOUT) != 0 || mosquitto_want_write(m_)) {
      const int rc = mosquitto_loop_write(m_, 1);
      if (rc != MOSQ_ERR_SUCCESS) return Lost(rc);
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      // Each call reads a handful of packets; keep going while bytes are waiting.
      for (int k = 0; k < 256; ++k) {
        const int rc = mosquitto_loop_read(m_, 1);
        if (rc != MOSQ_ERR_SUCCESS) return Lost(rc);
        const int fd2 = mosquitto_socket(m_);
        if (fd2 < 0) return Status(Code::kUnavailable, "connection closed");
        pollfd q{fd2, POLLIN, 0};
        if (::poll(&q, 1, 0) <= 0 || (q.revents & POLLIN) == 0) break;
      }
      if (mosquitto_want_write(m_)) {  // PUBACKs queued from inside callbacks
        const int rc = mosquitto_loop_write(m_, 1);
        if (rc != MOSQ_ERR_SUCCESS) return Lost(rc);
      }
    }
    mosquitto_loop_misc(m_);
    return mosquitto_socket(m_) >= 0 ? Status::Ok() : Status(Code::kUnavailable, "closed");
  }
  bool connected() const override { return mosquitto_socket(m_) >= 0; }
  uint64_t sent() const override { return sent_; }
  uint64_t acked() const override { return acked_; }
  uint64_t refused() const override { return 0; }  // MQTT 3.1.1 cannot refuse a PUBLISH

 private:
  // One QoS 1 PUBLISH of the header and `text` to `topic`; `to` is the user or group number.
  Status Publish(const std::string& topic, uint32_t to, std::string text) {
    std::string p;
    p.reserve(kHeader + text.size());
    const uint64_t seq = sent_ + 1;
    const auto ts_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch()).count());
    Put(p, (uint64_t{user_} << 32) | (seq & 0xffffffff), 8);  // msg_id
    Put(p, user_, 8);
    Put(p, device_, 4);
    Put(p, to, 8);
    Put(p, seq, 8);  // chat seq: the sender's own count (MQTT has no server order)
    Put(p, ts_ms, 8);
    p += text;
    const int rc = mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(p.size()),
                                     p.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
      return Status(Code::kUnavailable, std::string("mosquitto_publish: ") + mosquitto_strerror(rc));
    }
    ++sent_;
    return Status::Ok();
  }
  Status Subscribe(const std::string& topic) {
    suback_ = false;
    const int s = mosquitto_subscribe(m_, nullptr, topic.c_str(), 1);
    if (s != MOSQ_ERR_SUCCESS) return Status(Code::kUnavailable, mosquitto_strerror(s));
    return WaitFor([this] { return suback_; }, "SUBACK");
  }
  Status Lost(int rc) {
    return Status(Code::kUnavailable, std::string("connection lost: ") + mosquitto_strerror(rc));
  }
  template <typename F>
  Status WaitFor(F done, const char* what) {
    const int64_t deadline = NowNs() + int64_t{backend_->io_timeout_ms()} * 1'000'000;
    while (!done()) {
      if (NowNs() > deadline) return Status(Code::kTimeout, std::string("no ") + what);
      TERN_RETURN_IF_ERROR(Poll(50));
    }
    return Status::Ok();
  }

  MqttBackend* backend_;
  uint32_t user_, device_;
  DeliverFn on_deliver_;
  mosquitto* m_ = nullptr;
  bool connack_ = false, session_present_ = false, suback_ = false;
  int connack_rc_ = -1;
  uint64_t sent_ = 0, acked_ = 0;
  std::vector<std::string> groups_;  // group topics joined
};

}  // namespace

MqttBackend::MqttBackend(Options options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
  run_id_ = static_cast<unsigned>((::getpid() ^ NowNs()) % 900 + 100);
}

MqttBackend::~MqttBackend() {
  if (child_.running()) child_.Signal(SIGKILL, 10000).status().IgnoreError();
  loadgen::RemoveTree(dir_);
}

std::string MqttBackend::Describe() const {
  int major = 0, minor = 0, rev = 0;
  mosquitto_lib_version(&major, &minor, &rev);
  if (options_.mosquitto_path.empty()) return "mosquitto at " + options_.server + " (attached)";
  return options_.mosquitto_path + " (spawned; persistence on, autosave_interval 1800 s; QoS 1, "
         "clean_session=false, per-recipient and per-group topics; libmosquitto " +
         std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(rev) + ")";
}

pid_t MqttBackend::server_pid() const {
  return options_.mosquitto_path.empty() ? options_.server_pid : child_.pid();
}

Status MqttBackend::Start() {
  if (options_.mosquitto_path.empty()) {
    return tools::ParseHostPort(options_.server, &host_, &port_);
  }
  Result<std::string> dir = loadgen::MakeTempDir("tern-mqtt");
  if (!dir.ok()) return dir.status();
  dir_ = *dir;
  Result<uint16_t> port = loadgen::FreeLoopbackPort();
  if (!port.ok()) return port.status();
  port_ = *port;
  std::ofstream conf(dir_ + "/mosquitto.conf");
  conf << "listener " << port_ << " 127.0.0.1\n"
       << "allow_anonymous true\n"
       << "user root\n"  // stay the user that owns the temp dir
       << "persistence true\n"
       << "persistence_location " << dir_ << "/\n"
       << "persistence_file mosquitto.db\n"
       << "autosave_interval 1800\n"
       << "max_queued_messages 1000000\n"
       << "max_inflight_messages 1024\n"
       << "max_keepalive 65535\n"
       << "set_tcp_nodelay true\n"
       << "log_dest stderr\n"
       << "log_type error\nlog_type warning\n";
  conf.close();
  if (!conf) return Status(Code::kUnavailable, "cannot write " + dir_ + "/mosquitto.conf");
  return SpawnBroker();
}

Status MqttBackend::SpawnBroker() {
  TERN_RETURN_IF_ERROR(child_.Spawn({options_.mosquitto_path, "-c", dir_ + "/mosquitto.conf"},
                                    dir_ + "/mosquitto.log"));
  Status st = loadgen::WaitForPort(port_, kStartTimeoutMs);
  if (!st.ok()) return Status(st.code(), st.message() + "\n" + loadgen::FileTail(dir_ + "/mosquitto.log", 2000));
  return Status::Ok();
}

Status MqttBackend::Stop() {
  if (!child_.running()) return Status::Ok();
  Result<int> rc = child_.Signal(SIGTERM, 20000);
  loadgen::RemoveTree(dir_);
  dir_.clear();
  if (!rc.ok()) return rc.status();
  if (*rc != 0) return Status(Code::kInternal, "mosquitto exited with " + std::to_string(*rc));
  return Status::Ok();
}

Status MqttBackend::CrashAndRestart() {
  if (!can_crash()) return Status(Code::kInvalidArgument, "attached: cannot kill -9 the broker");
  child_.Signal(SIGKILL, 20000).status().IgnoreError();  // exits 137 by design
  return SpawnBroker();
}

Status MqttBackend::CreateGroup(uint32_t group, const std::vector<uint32_t>&, loadgen::Endpoint&,
                                const std::vector<loadgen::Endpoint*>& devices) {
  for (loadgen::Endpoint* d : devices) {
    // This backend makes only MqttEndpoints.
    TERN_RETURN_IF_ERROR(static_cast<MqttEndpoint*>(d)->Join(GroupTopic(group)));
  }
  return Status::Ok();
}

Result<std::unique_ptr<loadgen::Endpoint>> MqttBackend::Register(uint32_t user, uint32_t device,
                                                                 loadgen::Endpoint*,
                                                                 DeliverFn on_deliver) {
  auto ep = std::make_unique<MqttEndpoint>(this, run_id_, user, device, std::move(on_deliver));
  if (!ep->created()) return Status(Code::kInternal, "mosquitto_new failed");
  TERN_RETURN_IF_ERROR(ep->Connect());
  return std::unique_ptr<loadgen::Endpoint>(std::move(ep));
}

}  // namespace tern::bench
