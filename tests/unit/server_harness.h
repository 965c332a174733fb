// A harness for driving server::Core without sockets: a fake clock, MemEnv (optionally under
// FaultEnv), deterministic entropy, a capturing code sink, and TestDevice — a minimal client on
// a client-role wire::Session. `Turn()` plays one loop turn: EndTurn, then hands each
// connection's output to its TestDevice.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "server/core.h"
#include "store/fault_env.h"
#include "store/mailbox.h"
#include "store/mem_env.h"
#include "wire/session.h"

namespace tern::server::testing {

class SeededEntropy : public Entropy {
 public:
  void Fill(void* out, size_t n) override {
    auto* p = static_cast<uint8_t*>(out);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(rng_());
  }

 private:
  std::mt19937_64 rng_{42};
};

class CapturingSink : public CodeSink {
 public:
  void Deliver(const std::string& phone, const std::string& code) override { codes[phone] = code; }
  std::map<std::string, std::string> codes;
};

class Harness;

// One simulated device connection.
class TestDevice {
 public:
  TestDevice(Harness& h) : h_(&h) {}
  void Connect();
  void Drop();  // the transport vanishes (no goodbye)
  void SendMsg(const wire::Message& m);
  bool connected() const { return connected_; }
  bool closed_by_server() const { return closed_by_server_; }
  ConnId id() const { return id_; }

  // Everything received, in order, since the last Clear().
  std::vector<wire::Message> received;
  std::vector<wire::InboxItem> items;  // flattened from Deliver frames
  size_t deliver_frames = 0;
  std::optional<wire::Welcome> welcome;
  std::optional<wire::Error> error;
  std::map<uint64_t, wire::SendAck> acks;  // by client_seq (last one wins)

  // Identity after Welcome.
  uint64_t user_id = 0;
  uint32_t device_id = 0;
  std::string token;
  uint32_t epoch = 0;
  uint64_t last_seq = 0;  // highest inbox seq stored ("durably", for the test)

  void OnBytes(const std::string& bytes, bool close);

 private:
  Harness* h_;
  std::unique_ptr<wire::Session> session_;
  ConnId id_ = 0;
  bool connected_ = false;
  bool closed_by_server_ = false;
};

class Harness {
 public:
  // Lazy commits (Config::store_lazy_commit_ms) are off unless `lazy_commits`: most tests look
  // at receipts and store contents right after the turn that wrote them. The lazy path has its
  // own tests (server_lazy_commit_test.cc).
  explicit Harness(Config config = Config(), bool with_faults = false, bool lazy_commits = false);

  void Turn();
  // Registers a new user on `dev` (RequestCode + Verify); returns its user id.
  uint64_t Register(TestDevice& dev, const std::string& phone);
  // Links `dev` to the user of `primary` through a link code.
  void LinkDevice(TestDevice& primary, TestDevice& dev);
  // Reconnects `dev` with Resume from its stored position.
  void Resume(TestDevice& dev, uint64_t last_acked_client_seq = 0, uint32_t window = 0);
  // Cumulative ack of everything `dev` received.
  void AckAll(TestDevice& dev);
  store::MailboxStats Stats();

  Config config;
  uint64_t now_ms = 1'700'000'000'000;
  std::unique_ptr<store::KvEnv> base;
  store::FaultEnv* fault = nullptr;  // set when with_faults
  std::unique_ptr<store::KvEnv> env;
  SeededEntropy entropy;
  CapturingSink sink;
  std::unique_ptr<Core> core;
  std::map<ConnId, TestDevice*> devices;
};

}  // namespace tern::server::testing
