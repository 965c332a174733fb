#include <gtest/gtest.h>

#include "tests/unit/store_mailbox_fixture.h"

namespace tern::store::testing {
namespace {

class MailboxExpiryTest : public MailboxTest {
 protected:
  static std::vector<DeviceKey> AliceDevices(uint64_t user) {
    return user == 1 ? std::vector<DeviceKey>{kAlice1, kAlice2, DeviceKey{1, 9}}  // 9: no queue
                     : std::vector<DeviceKey>{};
  }
  Mailbox::ExpiryOutcome Expire(uint64_t now, size_t budget = 100) {
    auto r = mb_->Expire(now, budget, AliceDevices);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : Mailbox::ExpiryOutcome{};
  }
};

// Alice (device 1) sends to Bob's two devices and her own second device; Bob's phone acks in
// time, the rest never do.
TEST_P(MailboxExpiryTest, HoldersGetMissedSenderDevicesGetExpiredAndEverythingIsReleased) {
  const DeviceKey t[] = {kBob1, kBob2, kAlice2};
  ASSERT_TRUE(mb_->Append(Msg(1, "hello", 1000), t).ok());
  ASSERT_EQ(1u, mb_->AckUpTo(kBob1, 1).value());
  Recommit();

  EXPECT_EQ(0u, Expire(999).expired);  // not due yet
  const Mailbox::ExpiryOutcome out = Expire(1000);
  EXPECT_EQ(1u, out.expired);
  EXPECT_EQ((std::vector<DeviceKey>{kAlice1, kAlice2, kBob2}), out.touched);

  const MailboxStats s = Stats();
  EXPECT_EQ(0u, s.messages);
  EXPECT_EQ(0u, s.refs);
  EXPECT_EQ(0u, s.expiry_entries);
  EXPECT_EQ(4u, s.queue_items);  // kMissed: Bob2, Alice2; kExpired: Alice1, Alice2

  auto bob2 = ReadAll(kBob2);
  ASSERT_EQ(1u, bob2.size());
  EXPECT_EQ(QueueItemKind::kMissed, bob2[0].kind);
  EXPECT_EQ(2u, bob2[0].seq);  // a new seq: the old item is gone, not rewritten
  EXPECT_EQ(1u, bob2[0].msg_id);
  EXPECT_EQ(1u, bob2[0].sender_user);
  EXPECT_EQ(2u, bob2[0].to_user);
  EXPECT_EQ(1u, bob2[0].chat_seq);
  EXPECT_EQ(1001u, bob2[0].server_ts_ms);
  EXPECT_EQ("", bob2[0].text);
  EXPECT_EQ(1u, Count(kBob2));

  auto alice1 = ReadAll(kAlice1);
  ASSERT_EQ(1u, alice1.size());
  EXPECT_EQ(QueueItemKind::kExpired, alice1[0].kind);
  auto alice2 = ReadAll(kAlice2);
  ASSERT_EQ(2u, alice2.size());
  EXPECT_EQ(QueueItemKind::kMissed, alice2[0].kind);
  EXPECT_EQ(QueueItemKind::kExpired, alice2[1].kind);
  EXPECT_EQ(2u, Count(kAlice2));
  EXPECT_TRUE(ReadAll(kBob1).empty());

  // Notices hold no body: acking them leaves nothing behind.
  for (DeviceKey d : {kAlice1, kAlice2, kBob2}) ASSERT_TRUE(mb_->AckUpTo(d, 100).ok());
  ExpectEmptyStore();
}

TEST_P(MailboxExpiryTest, SweepRespectsBudgetOldestFirst) {
  const DeviceKey t[] = {kBob1};
  for (uint64_t id = 1; id <= 5; ++id) {
    ASSERT_TRUE(mb_->Append(Msg(id, "m", 600 - 100 * id), t).ok());  // id 5 is due first
  }
  EXPECT_EQ(0u, Expire(1000, 0).expired);
  EXPECT_EQ(2u, Expire(1000, 2).expired);
  auto bob = ReadAll(kBob1);
  ASSERT_EQ(5u, bob.size());
  EXPECT_EQ(QueueItemKind::kMissed, bob[3].kind);
  EXPECT_EQ(5u, bob[3].msg_id);
  EXPECT_EQ(4u, bob[4].msg_id);
  EXPECT_EQ(2u, Expire(1000, 2).expired);
  EXPECT_EQ(1u, Expire(1000, 2).expired);
  EXPECT_EQ(0u, Expire(1000, 2).expired);
  EXPECT_EQ(0u, Stats().messages);
  EXPECT_EQ(0u, Stats().expiry_entries);
}

TEST_P(MailboxExpiryTest, MessagesWithoutDeadlineNeverExpire) {
  const DeviceKey t[] = {kBob1};
  ASSERT_TRUE(mb_->Append(Msg(1, "forever", 0), t).ok());
  EXPECT_EQ(0u, Stats().expiry_entries);
  EXPECT_EQ(0u, Expire(UINT64_MAX).expired);
  EXPECT_EQ(1u, Stats().messages);
}

TEST_P(MailboxExpiryTest, DeliveredMessageLeavesNothingToExpire) {
  const DeviceKey t[] = {kBob1};
  ASSERT_TRUE(mb_->Append(Msg(1, "quick", 1000), t).ok());
  ASSERT_EQ(1u, mb_->AckUpTo(kBob1, 1).value());
  const Mailbox::ExpiryOutcome out = Expire(5000);
  EXPECT_EQ(0u, out.expired);
  EXPECT_TRUE(out.touched.empty());
  EXPECT_TRUE(ReadAll(kAlice1).empty());  // no kExpired for a delivered message
}

INSTANTIATE_TEST_SUITE_P(Backends, MailboxExpiryTest,
                         ::testing::Values(Backend::kMem, Backend::kLmdb), BackendName);

}  // namespace
}  // namespace tern::store::testing
