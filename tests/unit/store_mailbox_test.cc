#include "store/mailbox.h"

#include <gtest/gtest.h>

#include "store/codec.h"
#include "tests/unit/store_mailbox_fixture.h"

namespace tern::store::testing {
namespace {

TEST_P(MailboxTest, AppendedMessagesReachEveryTargetInOrder) {
  const DeviceKey targets[] = {kBob1, kBob2, kAlice2};
  for (uint64_t id = 1; id <= 3; ++id) {
    auto seqs = mb_->Append(Msg(id, "text " + std::to_string(id)), targets);
    ASSERT_TRUE(seqs.ok()) << seqs.status().ToString();
    EXPECT_EQ((std::vector<uint64_t>{id, id, id}), seqs.value());
  }
  Recommit();
  for (DeviceKey d : targets) {
    auto got = ReadAll(d);
    ASSERT_EQ(3u, got.size());
    for (uint64_t i = 0; i < 3; ++i) {
      const InboxEntry& e = got[i];
      EXPECT_EQ(i + 1, e.seq);
      EXPECT_EQ(QueueItemKind::kMessage, e.kind);
      EXPECT_EQ(i + 1, e.msg_id);
      EXPECT_EQ("text " + std::to_string(i + 1), e.text);
      EXPECT_EQ(1u, e.sender_user);
      EXPECT_EQ(1u, e.sender_device);
      EXPECT_EQ(2u, e.to_user);
      EXPECT_EQ(i + 1, e.chat_seq);
      EXPECT_EQ(1001 + i, e.server_ts_ms);
    }
    EXPECT_EQ(3u, Count(d));
    EXPECT_EQ(4u, mb_->GetQueue(d).value()->next_seq);
  }
  EXPECT_TRUE(ReadAll(kAlice1).empty());
  const MailboxStats s = Stats();
  EXPECT_EQ(3u, s.messages);  // each body is stored once
  EXPECT_EQ(9u, s.queue_items);
  EXPECT_EQ(9u, s.refs);
}

TEST_P(MailboxTest, ReadHonoursAfterSeqItemCapAndByteCap) {
  const DeviceKey t[] = {kBob1};
  for (uint64_t id = 1; id <= 4; ++id) ASSERT_TRUE(mb_->Append(Msg(id, "0123456789"), t).ok());
  EXPECT_EQ(2u, ReadAll(kBob1, 2).size());
  EXPECT_EQ(3u, ReadAll(kBob1, 2)[0].seq);
  EXPECT_EQ(2u, mb_->Read(kBob1, 0, 2, 1 << 20).value().size());
  EXPECT_EQ(2u, mb_->Read(kBob1, 0, 10, 25).value().size());
  EXPECT_EQ(1u, mb_->Read(kBob1, 0, 10, 3).value().size());  // at least one
  EXPECT_TRUE(mb_->Read(kBob1, 0, 0, 100).value().empty());
  EXPECT_TRUE(mb_->Read(kBob1, 4, 10, 100).value().empty());
  EXPECT_TRUE(mb_->Read(kBob1, UINT64_MAX, 10, 100).value().empty());
}

TEST_P(MailboxTest, LastAckReleasesTheBodyAndItsExpiryEntry) {
  const DeviceKey t[] = {kBob1, kBob2};
  ASSERT_TRUE(mb_->Append(Msg(1, "one", 5000), t).ok());
  ASSERT_TRUE(mb_->Append(Msg(2, "two", 6000), t).ok());
  Recommit();
  EXPECT_EQ(1u, mb_->AckUpTo(kBob1, 1).value());
  MailboxStats s = Stats();
  EXPECT_EQ(2u, s.messages);
  EXPECT_EQ(3u, s.queue_items);
  EXPECT_EQ(3u, s.refs);
  EXPECT_EQ(2u, s.expiry_entries);
  EXPECT_EQ(1u, mb_->AckUpTo(kBob2, 1).value());  // last holder of message 1
  s = Stats();
  EXPECT_EQ(1u, s.messages);
  EXPECT_EQ(1u, s.expiry_entries);
  EXPECT_EQ(0u, mb_->AckUpTo(kBob2, 1).value());  // repeated ack: nothing left
  EXPECT_EQ(1u, mb_->AckUpTo(kBob1, 100).value());
  EXPECT_EQ(1u, mb_->AckUpTo(kBob2, 2).value());
  ExpectEmptyStore();
  EXPECT_EQ(0u, Count(kBob1));
  EXPECT_EQ(3u, mb_->GetQueue(kBob1).value()->next_seq);  // seqs never repeat
  Recommit();
  ExpectEmptyStore();
}

TEST_P(MailboxTest, AppendRefusesBadTargets) {
  const DeviceKey none[] = {DeviceKey{9, 9}};
  const DeviceKey dup[] = {kBob1, kBob1};
  EXPECT_EQ(Code::kInvalidArgument,
            mb_->Append(Msg(1, "x"), std::span<const DeviceKey>()).status().code());
  EXPECT_EQ(Code::kInvalidArgument, mb_->Append(Msg(1, "x"), none).status().code());
  EXPECT_EQ(Code::kInvalidArgument, mb_->Append(Msg(1, "x"), dup).status().code());
  ExpectEmptyStore();
  const DeviceKey ok[] = {kBob1};
  ASSERT_TRUE(mb_->Append(Msg(1, "x"), ok).ok());
  EXPECT_EQ(Code::kInvalidArgument, mb_->Append(Msg(1, "again"), ok).status().code());
  EXPECT_EQ(Code::kInvalidArgument,
            mb_->AppendNotice(DeviceKey{9, 9}, QueueItemKind::kMissed, Msg(1, "")).status().code());
}

TEST_P(MailboxTest, EnsureQueueKeepsTheFirstEpoch) {
  EXPECT_EQ(1001u, mb_->EnsureQueue(kAlice1, 77).value().epoch);
  EXPECT_EQ(Code::kInvalidArgument, mb_->EnsureQueue(DeviceKey{5, 5}, 0).status().code());
  EXPECT_FALSE(mb_->GetQueue(DeviceKey{5, 5}).value().has_value());
}

TEST_P(MailboxTest, ChatSeqCountsPerChatAndDirectChatIsSymmetric) {
  EXPECT_EQ(ChatKey::Direct(5, 3).Encode(), ChatKey::Direct(3, 5).Encode());
  EXPECT_EQ(17u, ChatKey::Direct(5, 3).Encode().size());
  EXPECT_EQ(1u, mb_->NextChatSeq(ChatKey::Direct(1, 2)).value());
  EXPECT_EQ(2u, mb_->NextChatSeq(ChatKey::Direct(2, 1)).value());
  EXPECT_EQ(1u, mb_->NextChatSeq(ChatKey::Direct(1, 3)).value());
  Recommit();
  EXPECT_EQ(3u, mb_->NextChatSeq(ChatKey::Direct(1, 2)).value());
}

TEST_P(MailboxTest, MessageIdsCarryTheNodeAndAPersistedCounter) {
  EXPECT_EQ((7ull << 48) | 1, mb_->NextMessageId(7).value());
  EXPECT_EQ((7ull << 48) | 2, mb_->NextMessageId(7).value());
  EXPECT_EQ((8ull << 48) | 1, mb_->NextMessageId(8).value());
  Recommit();
  EXPECT_EQ((7ull << 48) | 3, mb_->NextMessageId(7).value());
}

TEST_P(MailboxTest, SendResultsPutGetPruneAndReplayAscending) {
  for (uint64_t cs = 5; cs >= 1; --cs) {
    TERN_ASSERT_OK(mb_->PutSendResult(kAlice1, cs, SendResult{0, 100 + cs, cs, 9000 + cs}));
  }
  TERN_ASSERT_OK(mb_->PutSendResult(kAlice2, 3, SendResult{4, 0, 0, 0}));
  auto got = mb_->GetSendResult(kAlice1, 3);
  ASSERT_TRUE(got.ok() && got.value().has_value());
  EXPECT_EQ(103u, got.value()->msg_id);
  EXPECT_EQ(3u, got.value()->chat_seq);
  EXPECT_EQ(9003u, got.value()->server_ts_ms);
  EXPECT_EQ(4u, mb_->GetSendResult(kAlice2, 3).value()->status);
  EXPECT_FALSE(mb_->GetSendResult(kAlice1, 6).value().has_value());

  auto after = mb_->SendResultsAfter(kAlice1, 2, 10);
  ASSERT_TRUE(after.ok());
  std::vector<uint64_t> seqs;
  for (auto& [cs, r] : after.value()) seqs.push_back(cs);
  EXPECT_EQ((std::vector<uint64_t>{3, 4, 5}), seqs);
  EXPECT_EQ(2u, mb_->SendResultsAfter(kAlice1, 2, 2).value().size());

  TERN_ASSERT_OK(mb_->PruneSendResults(kAlice1, 3));
  EXPECT_FALSE(mb_->GetSendResult(kAlice1, 3).value().has_value());
  EXPECT_EQ(2u, mb_->SendResultsAfter(kAlice1, 0, 10).value().size());
  EXPECT_TRUE(mb_->GetSendResult(kAlice2, 3).value().has_value());  // other device untouched
}

TEST_P(MailboxTest, DropQueueReleasesBodiesAndForgetsTheQueue) {
  const DeviceKey t[] = {kBob1, kBob2};
  ASSERT_TRUE(mb_->Append(Msg(1, "one", 5000), t).ok());
  ASSERT_TRUE(mb_->AppendNotice(kBob1, QueueItemKind::kMissed, Msg(9, "")).ok());
  TERN_ASSERT_OK(mb_->DropQueue(kBob1));
  EXPECT_FALSE(mb_->GetQueue(kBob1).value().has_value());
  EXPECT_EQ(1u, Stats().messages);  // kBob2 still holds it
  TERN_ASSERT_OK(mb_->DropQueue(kBob2));
  ExpectEmptyStore();
  TERN_ASSERT_OK(mb_->DropQueue(kBob2));  // dropping again is harmless
}

TEST_P(MailboxTest, MissingOrUndecodableBodyIsCorrupt) {
  const DeviceKey t[] = {kBob1};
  ASSERT_TRUE(mb_->Append(Msg(1, "one"), t).ok());
  TERN_ASSERT_OK(txn_->Put(Table::kMsgs, codec::BE64(1), "\x01\x01"));
  EXPECT_EQ(Code::kCorrupt, mb_->Read(kBob1, 0, 10, 100).status().code());
  TERN_ASSERT_OK(txn_->Del(Table::kMsgs, codec::BE64(1)));
  EXPECT_EQ(Code::kCorrupt, mb_->Read(kBob1, 0, 10, 100).status().code());
  EXPECT_EQ(Code::kCorrupt, mb_->AckUpTo(kBob1, 1).status().code());
}

INSTANTIATE_TEST_SUITE_P(Backends, MailboxTest, ::testing::Values(Backend::kMem, Backend::kLmdb),
                         BackendName);

}  // namespace
}  // namespace tern::store::testing
