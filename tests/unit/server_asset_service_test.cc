// AssetService over the in-memory store: tickets, the download rule (uploader or a member of a
// chat the asset was sent in), attach rights, and expiry (unreferenced TTL, retention).
#include "server/asset_service.h"

#include <gtest/gtest.h>

#include "server/blob/sigv4.h"
#include "store/assets.h"
#include "store/groups.h"
#include "store/mem_env.h"

namespace tern::server {
namespace {

constexpr uint64_t kNow = 1800000000000ull;
constexpr uint64_t kAlice = 11, kBob = 22, kCarol = 33;

class RecordingRemover : public BlobRemover {
 public:
  Status Remove(std::string_view name) override {
    removed.emplace_back(name);
    return Status::Ok();
  }
  std::vector<std::string> removed;
};

class AssetServiceTest : public ::testing::Test {
 protected:
  AssetServiceTest() : env_(store::NewMemEnv()), svc_(Settings(), Endpoint(), &remover_) {}
  static AssetSettings Settings() {
    AssetSettings s;
    s.max_bytes = 1000;
    s.unreferenced_ttl_ms = 60000;
    s.retention_ms = 3600000;
    return s;
  }
  static BlobEndpoint Endpoint() {
    BlobEndpoint e;
    e.base_url = "https://127.0.0.1:7014";
    e.bucket = "tern";
    e.credentials = blob::Credentials{"TERNKEY", "secret", "us-east-1", "s3"};
    return e;
  }
  std::unique_ptr<store::KvTxn> Txn() { return std::move(env_->Begin(true)).value(); }
  uint64_t Upload(store::KvTxn& t, uint64_t user, uint64_t id) {
    auto ticket = svc_.CreateUpload(t, user, 1, id, 500, "image/jpeg", std::string(32, 'h'), kNow);
    EXPECT_TRUE(ticket.ok()) << ticket.status().ToString();
    return id;
  }
  // Verifies `url` as the built-in store would, for `method`.
  Status Check(const AssetTicket& t, const char* method, uint64_t now_ms) {
    size_t path_at = t.url.find('/', 8), q = t.url.find('?');
    blob::Headers h{{"Host", "127.0.0.1:7014"}};
    for (const auto& x : t.headers) h.push_back(x);
    blob::RequestView r{method, std::string_view(t.url).substr(path_at, q - path_at),
                        std::string_view(t.url).substr(q + 1), &h};
    return blob::VerifyPresigned(Endpoint().credentials, r, static_cast<int64_t>(now_ms / 1000)).status();
  }

  std::unique_ptr<store::KvEnv> env_;
  RecordingRemover remover_;
  AssetService svc_;
};

TEST_F(AssetServiceTest, UploadTicketIsAPresignedPutBoundToTheKeyAndChecksum) {
  auto t = Txn();
  auto ticket = svc_.CreateUpload(*t, kAlice, 1, 0xab, 500, "image/jpeg", std::string(32, 'h'), kNow);
  ASSERT_TRUE(ticket.ok());
  EXPECT_EQ(ticket->method, "PUT");
  EXPECT_EQ(ticket->url.rfind("https://127.0.0.1:7014/tern/a/00000000000000ab?X-Amz-Algorithm=AWS4-HMAC-SHA256", 0),
            0u)
      << ticket->url;
  ASSERT_EQ(ticket->headers.size(), 1u);
  EXPECT_EQ(ticket->headers[0].first, "x-amz-checksum-sha256");
  EXPECT_EQ(ticket->headers[0].second, "aGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGg=");
  EXPECT_TRUE(Check(*ticket, "PUT", kNow).ok());
  EXPECT_FALSE(Check(*ticket, "GET", kNow).ok());
  EXPECT_EQ(Check(*ticket, "PUT", kNow + 901000).code(), Code::kExpired);
  auto rec = store::Assets(*t).Get(0xab);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ(rec->value().owner_user, kAlice);
  EXPECT_EQ(rec->value().size, 500u);
}

TEST_F(AssetServiceTest, OnlyTheUploaderRenewsAnUploadUrlForTheSameContent) {
  auto t = Txn();
  Upload(*t, kAlice, 9);
  auto renewed = svc_.RenewUpload(*t, kAlice, 9, 500, std::string(32, 'h'), kNow + 1000000);
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(renewed->url.find("/tern/a/0000000000000009?"), std::string::npos);
  EXPECT_TRUE(Check(*renewed, "PUT", kNow + 1000000).ok());
  EXPECT_EQ(svc_.RenewUpload(*t, kBob, 9, 500, std::string(32, 'h'), kNow).status().code(), Code::kForbidden);
  EXPECT_EQ(svc_.RenewUpload(*t, kAlice, 9, 501, std::string(32, 'h'), kNow).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(svc_.RenewUpload(*t, kAlice, 10, 500, std::string(32, 'h'), kNow).status().code(), Code::kNotFound);
}

TEST_F(AssetServiceTest, BadUploadRequestsAreRefused) {
  auto t = Txn();
  const std::string sha(32, 'h');
  EXPECT_EQ(svc_.CreateUpload(*t, kAlice, 1, 1, 0, "a/b", sha, kNow).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(svc_.CreateUpload(*t, kAlice, 1, 1, 1001, "a/b", sha, kNow).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(svc_.CreateUpload(*t, kAlice, 1, 1, 10, "", sha, kNow).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(svc_.CreateUpload(*t, kAlice, 1, 1, 10, "a/b", "short", kNow).status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(svc_.CreateUpload(*t, kAlice, 1, 1, 10, "a/b", sha, kNow).ok());
  EXPECT_EQ(svc_.CreateUpload(*t, kBob, 1, 1, 10, "a/b", sha, kNow).status().code(), Code::kInvalidArgument);
}

TEST_F(AssetServiceTest, DownloadsFollowChatMembership) {
  auto t = Txn();
  Upload(*t, kAlice, 7);
  EXPECT_TRUE(svc_.CreateDownload(*t, kAlice, 7, kNow).ok());  // the uploader
  EXPECT_EQ(svc_.CreateDownload(*t, kBob, 7, kNow).status().code(), Code::kForbidden);
  EXPECT_EQ(svc_.CreateDownload(*t, kBob, 8, kNow).status().code(), Code::kNotFound);
  ASSERT_TRUE(svc_.Attach(*t, kAlice, 7, store::ChatKey::Direct(kAlice, kBob), kNow).ok());
  auto bob = svc_.CreateDownload(*t, kBob, 7, kNow);
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->method, "GET");
  EXPECT_TRUE(Check(*bob, "GET", kNow).ok());
  EXPECT_EQ(bob->size, 500u);
  EXPECT_EQ(svc_.CreateDownload(*t, kCarol, 7, kNow).status().code(), Code::kForbidden);
  // Carol cannot attach what she may not read; Bob may forward it to Carol, then she may read.
  EXPECT_EQ(svc_.Attach(*t, kCarol, 7, store::ChatKey::Direct(kCarol, kBob), kNow).code(), Code::kForbidden);
  ASSERT_TRUE(svc_.Attach(*t, kBob, 7, store::ChatKey::Direct(kBob, kCarol), kNow).ok());
  EXPECT_TRUE(svc_.CreateDownload(*t, kCarol, 7, kNow).ok());
}

TEST_F(AssetServiceTest, GroupMembersMayDownloadWhileTheyAreMembers) {
  auto t = Txn();
  store::GroupRecord g;
  g.group_id = 99;
  g.name = "hikers";
  g.Add(kAlice, true);
  g.Add(kBob, false);
  ASSERT_TRUE(store::Groups(*t).Put(g).ok());
  Upload(*t, kAlice, 5);
  ASSERT_TRUE(svc_.Attach(*t, kAlice, 5, store::ChatKey::Group(99), kNow).ok());
  EXPECT_TRUE(svc_.CreateDownload(*t, kBob, 5, kNow).ok());
  EXPECT_EQ(svc_.CreateDownload(*t, kCarol, 5, kNow).status().code(), Code::kForbidden);
  g.Remove(kBob);
  ASSERT_TRUE(store::Groups(*t).Put(g).ok());
  EXPECT_EQ(svc_.CreateDownload(*t, kBob, 5, kNow).status().code(), Code::kForbidden);
}

TEST_F(AssetServiceTest, SweepDeletesUnreferencedAndRetiredAssetsInBudgetedSteps) {
  auto t = Txn();
  Upload(*t, kAlice, 1);  // never sent: goes after the unreferenced TTL
  Upload(*t, kAlice, 2);  // sent: stays until retention
  Upload(*t, kAlice, 3);
  ASSERT_TRUE(svc_.Attach(*t, kAlice, 2, store::ChatKey::Direct(kAlice, kBob), kNow).ok());
  ASSERT_TRUE(svc_.Attach(*t, kAlice, 3, store::ChatKey::Direct(kAlice, kBob), kNow).ok());
  EXPECT_TRUE(svc_.Sweep(*t, kNow + 59999, 10)->empty());
  std::vector<std::string> gone;
  for (int i = 0; i < 3; ++i) {  // budget 1: the cursor walks the table
    auto step = svc_.Sweep(*t, kNow + 60000, 1);
    ASSERT_TRUE(step.ok());
    gone.insert(gone.end(), step->begin(), step->end());
  }
  EXPECT_EQ(gone, std::vector<std::string>{"tern/a/0000000000000001"});
  EXPECT_FALSE(store::Assets(*t).Get(1)->has_value());
  EXPECT_EQ(svc_.CreateDownload(*t, kAlice, 1, kNow).status().code(), Code::kNotFound);
  auto retired = svc_.Sweep(*t, kNow + 3600000, 10);
  ASSERT_TRUE(retired.ok());
  EXPECT_EQ(retired->size(), 2u);
  svc_.RemoveObjects(*retired);
  EXPECT_EQ(remover_.removed.size(), 2u);
  bool any_ref = false;
  ASSERT_TRUE(store::Assets(*t).ForEachRef(2, [&](std::string_view) { return any_ref = true; }).ok());
  EXPECT_FALSE(any_ref);  // refs go with the record
}

TEST(AssetRecords, RoundTripAndCorruption) {
  auto env = store::NewMemEnv();
  auto t = std::move(env->Begin(true)).value();
  store::AssetRecord a{42, 7, 3, 123456, "video/mp4", std::string(32, '\x01'), 1000, 2000};
  ASSERT_TRUE(store::Assets(*t).Put(a).ok());
  auto got = store::Assets(*t).Get(42);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(got->value(), a);
  ASSERT_TRUE(t->Put(store::Table::kAssets, std::string("\0\0\0\0\0\0\0\x2b", 8), "\x01\x05").ok());
  EXPECT_EQ(store::Assets(*t).Get(43).status().code(), Code::kCorrupt);
}

}  // namespace
}  // namespace tern::server
