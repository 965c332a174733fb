#include "server_harness.h"

namespace tern::server::testing {

void TestDevice::Connect() {
  session_ = std::make_unique<wire::Session>(wire::Session::Role::kClient, wire::Session::Options{});
  id_ = h_->core->OnOpen(h_->now_ms);
  h_->devices[id_] = this;
  connected_ = true;
  closed_by_server_ = false;
  error.reset();
  welcome.reset();
}

void TestDevice::Drop() {
  if (!connected_) return;
  h_->core->OnClosed(id_, h_->now_ms);
  h_->devices.erase(id_);
  connected_ = false;
}

void TestDevice::SendMsg(const wire::Message& m) {
  ASSERT_TRUE(connected_);
  session_->Send(m);
  std::string bytes = session_->TakeOutput();
  h_->core->OnBytes(id_, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                    h_->now_ms);
}

void TestDevice::OnBytes(const std::string& bytes, bool close) {
  Status s = session_->Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  while (auto m = session_->NextEvent()) {
    if (auto* w = std::get_if<wire::Welcome>(&*m)) {
      welcome = *w;
      user_id = w->user_id;
      device_id = w->device_id;
      if (!w->token.empty()) token = w->token;
      if (w->inbox_epoch != epoch) last_seq = 0;
      epoch = w->inbox_epoch;
    } else if (auto* d = std::get_if<wire::Deliver>(&*m)) {
      ++deliver_frames;
      for (const auto& it : d->items) {
        if (it.seq <= last_seq) continue;  // duplicate after a reconnect
        items.push_back(it);
        last_seq = it.seq;
      }
    } else if (auto* a = std::get_if<wire::SendAck>(&*m)) {
      acks[a->client_seq] = *a;
    } else if (auto* e = std::get_if<wire::Error>(&*m)) {
      error = *e;
    }
    received.push_back(std::move(*m));
  }
  (void)s;  // an Error from the server fails the client session; recorded above
  if (close) {
    closed_by_server_ = true;
    Drop();
  }
}

Harness::Harness(Config c, bool with_faults, bool lazy_commits) : config(c) {
  if (!lazy_commits) config.store_lazy_commit_ms = 0;
  base = store::NewMemEnv();
  if (with_faults) {
    auto f = std::make_unique<store::FaultEnv>(std::move(base));
    fault = f.get();
    env = std::move(f);
  } else {
    env = std::move(base);
  }
  core = std::make_unique<Core>(config, *env, entropy, sink);
}

void Harness::Turn() {
  core->EndTurn(now_ms);
  for (auto& out : core->TakeOutgoing()) {
    auto it = devices.find(out.id);
    if (it == devices.end()) continue;
    TestDevice* d = it->second;
    d->OnBytes(out.bytes, out.close);
    if (out.close && d->connected()) d->Drop();
    if (out.close) core->OnClosed(out.id, now_ms);
  }
}

uint64_t Harness::Register(TestDevice& dev, const std::string& phone) {
  dev.Connect();
  dev.SendMsg(wire::RequestCode{wire::kProtocolVersion, phone});
  Turn();
  EXPECT_EQ(sink.codes.count(phone), 1u);
  dev.SendMsg(wire::Verify{wire::kProtocolVersion, phone, sink.codes[phone], "phone", 0});
  Turn();
  EXPECT_TRUE(dev.welcome.has_value());
  return dev.user_id;
}

void Harness::LinkDevice(TestDevice& primary, TestDevice& dev) {
  primary.SendMsg(wire::CreateLinkCode{7});
  Turn();
  std::string code;
  for (const auto& m : primary.received)
    if (auto* l = std::get_if<wire::LinkCode>(&m)) code = l->code;
  ASSERT_FALSE(code.empty());
  dev.Connect();
  dev.SendMsg(wire::Link{wire::kProtocolVersion, code, "laptop", 0});
  Turn();
  ASSERT_TRUE(dev.welcome.has_value());
  ASSERT_EQ(dev.user_id, primary.user_id);
}

void Harness::Resume(TestDevice& dev, uint64_t last_acked_client_seq, uint32_t window) {
  dev.Connect();
  dev.SendMsg(wire::Resume{wire::kProtocolVersion, dev.user_id, dev.device_id, dev.token, dev.epoch, dev.last_seq,
                           last_acked_client_seq, window});
  Turn();
}

void Harness::AckAll(TestDevice& dev) {
  dev.SendMsg(wire::InboxAck{dev.last_seq});
  Turn();
}

store::MailboxStats Harness::Stats() {
  auto t = env->Begin(false);
  EXPECT_TRUE(t.ok());
  auto s = store::Mailbox(*t.value()).Stats();
  EXPECT_TRUE(s.ok());
  return s.ok() ? s.value() : store::MailboxStats{};
}

}  // namespace tern::server::testing
