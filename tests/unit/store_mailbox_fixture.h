// Test support: a Mailbox over a write txn of each backend, with four queues ready.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/mailbox.h"
#include "tests/unit/store_test_env.h"

namespace tern::store::testing {

inline constexpr DeviceKey kAlice1{1, 1}, kAlice2{1, 2}, kBob1{2, 1}, kBob2{2, 2};

inline MessageRecord Msg(uint64_t id, std::string text, uint64_t expire_at = 0) {
  MessageRecord m;
  m.msg_id = id;
  m.chat = ChatKey::Direct(1, 2);
  m.chat_seq = id;
  m.sender_user = 1;
  m.sender_device = 1;
  m.to_user = 2;
  m.server_ts_ms = 1000 + id;
  m.expire_at_ms = expire_at;
  m.text = std::move(text);
  return m;
}

class MailboxTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    txn_ = Begin(true);
    ASSERT_NE(nullptr, txn_);
    mb_.emplace(*txn_);
    for (DeviceKey d : {kAlice1, kAlice2, kBob1, kBob2}) {
      ASSERT_TRUE(mb_->EnsureQueue(d, 1000 + d.device_id).ok());
    }
  }
  // Commits and continues in a fresh write txn (exercises the real engine's persistence).
  void Recommit() {
    mb_.reset();
    TERN_ASSERT_OK(txn_->Commit());
    txn_ = Begin(true);
    mb_.emplace(*txn_);
  }
  std::vector<InboxEntry> ReadAll(DeviceKey d, uint64_t after = 0) {
    auto r = mb_->Read(d, after, 1000, 1 << 20);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : std::vector<InboxEntry>{};
  }
  MailboxStats Stats() {
    auto s = mb_->Stats();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s.value() : MailboxStats{};
  }
  uint64_t Count(DeviceKey d) { return mb_->GetQueue(d).value()->count; }
  void ExpectEmptyStore() {
    const MailboxStats s = Stats();
    EXPECT_EQ(0u, s.messages);
    EXPECT_EQ(0u, s.queue_items);
    EXPECT_EQ(0u, s.refs);
    EXPECT_EQ(0u, s.expiry_entries);
  }

  std::unique_ptr<KvTxn> txn_;
  std::optional<Mailbox> mb_;
};

}  // namespace tern::store::testing
