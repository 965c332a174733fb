// The training corpus (tools/corpus/chat_corpus.h) and the dictionaries trained on it
// (wire/dict/, PROTOCOL.md §2.3): the corpus is deterministic and shaped like the real server's
// traffic, the shipped tern-v2 is what the documented command trains, and it beats tern-v1 on
// traffic it was not trained on.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "tools/corpus/chat_corpus.h"
#include "wire/compress.h"
#include "wire/messages.h"

namespace tern::tools {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Corpus, SameSeedSameBytesOtherSeedOtherBytes) {
  ChatCorpus a(1), b(1), c(2);
  const auto x = a.SampleBodies(500);
  EXPECT_EQ(x, b.SampleBodies(500));
  EXPECT_NE(x, c.SampleBodies(500));
  EXPECT_EQ(x.size(), 500u);
}

// Every sample is a frame body the real decoder accepts, and the mix has what one message
// causes on the wire: Sends (some to groups, some with a riding ack), SendAcks, message items
// addressed "to you" (to_user 0), delivered and read receipts, InboxAcks, offline batches.
TEST(Corpus, SamplesAreValidFramesWithTheRealTrafficsShapes) {
  ChatCorpus corpus(3);
  int sends = 0, group_sends = 0, riding = 0, acks = 0, inbox_acks = 0, batches = 0;
  int to_you = 0, delivered = 0, read = 0, events = 0, media = 0;
  for (const std::string& body : corpus.SampleBodies(3000)) {
    auto m = wire::DecodeMessage(Bytes(body));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    if (auto* s = std::get_if<wire::Send>(&*m)) {
      ++sends;
      group_sends += s->group_id != 0;
      riding += s->ack_inbox_seq != 0;
      media += !s->assets.empty();
      if (s->group_id == 0) {
        EXPECT_NE(s->to_user, 0u);
      }
    } else if (std::get_if<wire::SendAck>(&*m)) {
      ++acks;
    } else if (std::get_if<wire::InboxAck>(&*m)) {
      ++inbox_acks;
    } else if (auto* d = std::get_if<wire::Deliver>(&*m)) {
      batches += d->items.size() > 1;
      for (size_t i = 0; i < d->items.size(); ++i) {
        const wire::InboxItem& it = d->items[i];
        if (i > 0) {
          EXPECT_GT(it.seq, d->items[i - 1].seq) << "ascending seqs";
        }
        to_you += it.kind == wire::ItemKind::kMessage && it.group_id == 0 && it.to_user == 0;
        delivered += it.receipt == wire::ReceiptType::kDelivered;
        read += it.receipt == wire::ReceiptType::kRead;
        events += it.kind == wire::ItemKind::kGroupEvent;
      }
    }
  }
  for (int n : {sends, group_sends, riding, acks, inbox_acks, batches, to_you, delivered, read,
                events, media})
    EXPECT_GT(n, 0);
  EXPECT_GT(sends, 3000 / 10) << "a Send, and what it causes, is most of the traffic";
  EXPECT_GT(delivered, sends / 2) << "every 1:1 message causes a delivered receipt";
}

// PROTOCOL.md §2.3 documents the command that trains tern-v2; the file in the repository must
// be exactly what it produces (else nobody can retrain or audit it).
TEST(Corpus, DocumentedCommandReproducesTernV2) {
  const std::string out = ::testing::TempDir() + "tern-v2-retrained.zdict";
  const std::string cmd = std::string(TERN_CORPUS_PATH) +
                          " train --seed 1 --dict-id 1002 --size 65536 --out " + out +
                          " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out, std::ios::binary);
  const std::string trained((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const wire::DictInfo* shipped = wire::FindDict(1002);
  ASSERT_NE(shipped, nullptr);
  ASSERT_EQ(trained.size(), shipped->bytes.size());
  const std::span<const uint8_t> got = Bytes(trained);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), shipped->bytes.begin()));
  std::remove(out.c_str());
}

// `tern-corpus eval` (the figures PROTOCOL.md §2.3 quotes) reports the means and where the
// bytes go per message type.
TEST(Corpus, EvalReportsMeansAndEveryTypeOfTheMix) {
  const std::string cmd = std::string(TERN_CORPUS_PATH) + " eval --seed 99 --count 400 --dict " +
                          TERN_SOURCE_DIR + "/wire/dict/tern-v2.zdict";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << out;
  for (const char* key : {"\"samples\":400", "\"zstd_dict\":", "\"by_type\":{", "\"Send\":{\"n\":",
                          "\"SendAck\":", "\"Deliver\":", "\"InboxAck\":"})
    EXPECT_NE(out.find(key), std::string::npos) << key << " in " << out;
  EXPECT_EQ(out.find("undecodable"), std::string::npos) << out;
}

// On traffic from a seed neither dictionary was trained on, tern-v2 makes frames smaller than
// tern-v1 overall and on the frames every message causes (a receipt item, a SendAck).
TEST(Corpus, TernV2BeatsTernV1OnUnseenTraffic) {
  ChatCorpus corpus(99);
  double v1 = 0, v2 = 0, v1_small = 0, v2_small = 0;
  for (const std::string& body : corpus.SampleBodies(3000)) {
    auto a = wire::CompressBody(body, 1001);
    auto b = wire::CompressBody(body, 1002);
    const double sa = static_cast<double>(a ? a->size() : body.size());
    const double sb = static_cast<double>(b ? b->size() : body.size());
    v1 += sa, v2 += sb;
    if (body.size() < 160) v1_small += sa, v2_small += sb;
  }
  EXPECT_LT(v2, v1 * 0.97) << "v1 " << v1 << " v2 " << v2;
  EXPECT_LT(v2_small, v1_small) << "v1 " << v1_small << " v2 " << v2_small;
}

}  // namespace
}  // namespace tern::tools
