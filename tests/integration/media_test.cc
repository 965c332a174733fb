// Media end to end on the real ternd (TLS on both ports): upload through a presigned URL (cut
// halfway, then resumed), send the reference, the recipient downloads (cut, then resumed with
// Range) and the SHA-256 matches; download rights follow chat membership; bad references are
// refused; unreferenced uploads expire; and the `tern send-file` / `tern download` commands.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/integration/blob_util.h"
#include "tests/integration/client_util.h"
#include "tools/client/blob_client.h"

namespace tern::testing {
namespace {

std::string WriteFile(const std::string& path, size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (auto& ch : s) {
    seed = seed * 1103515245 + 12345;
    ch = static_cast<char>(seed >> 16);
  }
  std::ofstream(path, std::ios::binary) << s;
  return s;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

tools::BlobOptions BlobOpts(const TestServer& server) {
  tools::BlobOptions o;
  o.io_timeout_ms = 10000;
  o.tls.pin_sha256 = server.tls() ? server.fingerprint() : "";
  return o;
}

tools::BlobHeaders Headers(const wire::AssetTicket& t) {
  tools::BlobHeaders h;
  for (const auto& x : t.headers) h.emplace_back(x.name, x.value);
  return h;
}

// Uploads `path` through a ticket; returns the reference to send.
Result<wire::AssetRef> Upload(Client& c, const TestServer& server, const std::string& path, const std::string& mime,
                              uint64_t cut_first_attempt_at = 0) {
  auto sha = tools::Sha256File(path);
  if (!sha.ok()) return sha.status();
  const uint64_t size = ReadAll(path).size();
  auto ticket = c.GetUploadTicket(size, mime, *sha);
  if (!ticket.ok()) return ticket.status();
  tools::BlobOptions o = BlobOpts(server);
  if (cut_first_attempt_at > 0) {
    o.cut_after_bytes = cut_first_attempt_at;
    auto cut = tools::UploadFile(ticket->url, Headers(*ticket), path, size, o);
    if (cut.status().code() != Code::kUnavailable) return Status(Code::kInternal, "the cut upload did not fail");
    o.cut_after_bytes = 0;
  }
  auto up = tools::UploadFile(ticket->url, Headers(*ticket), path, size, o);
  if (!up.ok()) return up.status();
  wire::AssetRef ref;
  ref.asset_id = ticket->asset_id;
  ref.size = size;
  ref.mime = mime;
  ref.sha256 = *sha;
  ref.width = 640;
  ref.height = 480;
  ref.thumbnail = std::string("\xff\xd8\xff\xe0 tiny", 9);
  ref.name = "photo.jpg";
  return ref;
}

class MediaTest : public ::testing::Test {
 protected:
  MediaTest() : server_({}, Security::kTls) {}
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    alice_ = std::move(RegisterUser(server_, "+15550700001")).value();
    bob_ = std::move(RegisterUser(server_, "+15550700002")).value();
    carol_ = std::move(RegisterUser(server_, "+15550700003")).value();
  }
  uint64_t Id(Client& c) const { return c.state().user_id; }
  // Sends `ref` from `from` to `to` and returns the ack.
  wire::SendAck SendRef(Client& from, uint64_t to, const wire::AssetRef& ref, const std::string& caption) {
    auto seq = from.SendMedia(to, 0, {ref}, caption);
    EXPECT_TRUE(seq.ok());
    auto ack = from.WaitForAck(*seq, kWaitMs);
    EXPECT_TRUE(ack.ok()) << ack.status().ToString();
    return ack.ok() ? *ack : wire::SendAck{};
  }
  TestServer server_;
  std::unique_ptr<Client> alice_, bob_, carol_;
};

TEST_F(MediaTest, UploadSendAndTheRecipientDownloadsWithMatchingSha256AfterResumes) {
  const std::string src = server_.root() + "/photo.jpg";
  const std::string data = WriteFile(src, 2 * 1000 * 1000 + 3, 7);
  auto ref = Upload(*alice_, server_, src, "image/jpeg", data.size() / 2);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  wire::SendAck ack = SendRef(*alice_, Id(*bob_), *ref, "the view from the top");
  ASSERT_EQ(ack.status, Code::kOk);

  ASSERT_TRUE(bob_->WaitForItems(1, kWaitMs).ok());
  const wire::InboxItem& item = bob_->inbox().back();
  EXPECT_EQ(item.text, "the view from the top");
  ASSERT_EQ(item.assets.size(), 1u);
  EXPECT_EQ(item.assets[0], *ref);  // every field, thumbnail included, as sent

  auto ticket = bob_->GetDownloadTicket(item.assets[0].asset_id);
  ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
  EXPECT_EQ(ticket->method, "GET");
  EXPECT_EQ(ticket->size, data.size());
  EXPECT_EQ(ticket->sha256, item.assets[0].sha256);
  const std::string dest = server_.root() + "/bob-photo.jpg";
  tools::BlobOptions cut = BlobOpts(server_);
  cut.cut_after_bytes = 700 * 1000;
  EXPECT_EQ(tools::DownloadFile(ticket->url, dest, ticket->size, ticket->sha256, cut).status().code(),
            Code::kUnavailable);
  auto rest = tools::DownloadFile(ticket->url, dest, item.assets[0].size, item.assets[0].sha256, BlobOpts(server_));
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(*rest, data.size() - 700 * 1000);  // resumed with Range: only the rest moved
  EXPECT_EQ(ReadAll(dest), data);
  EXPECT_EQ(tools::Sha256File(dest).value(), ref->sha256);
}

TEST_F(MediaTest, DownloadRightsFollowChatMembership) {
  const std::string src = server_.root() + "/doc.pdf";
  WriteFile(src, 10000, 3);
  auto ref = Upload(*alice_, server_, src, "application/pdf");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  // Before it is sent, only the uploader may fetch it.
  EXPECT_TRUE(alice_->GetDownloadTicket(ref->asset_id).ok());
  EXPECT_EQ(bob_->GetDownloadTicket(ref->asset_id).status().code(), Code::kForbidden);
  ASSERT_EQ(SendRef(*alice_, Id(*bob_), *ref, "").status, Code::kOk);  // no caption is fine
  EXPECT_TRUE(bob_->GetDownloadTicket(ref->asset_id).ok());
  // Carol is in no chat where it was sent: refused a ticket, and cannot send it on either.
  EXPECT_EQ(carol_->GetDownloadTicket(ref->asset_id).status().code(), Code::kForbidden);
  EXPECT_EQ(carol_->GetDownloadTicket(12345).status().code(), Code::kNotFound);
  EXPECT_EQ(SendRef(*carol_, Id(*bob_), *ref, "stolen").status, Code::kForbidden);
  // A reference that lies about the upload (size or sha256) is refused.
  wire::AssetRef lie = *ref;
  lie.size += 1;
  EXPECT_EQ(SendRef(*alice_, Id(*bob_), lie, "").status, Code::kInvalidArgument);
  lie = *ref;
  lie.thumbnail.assign(5000, 'x');  // over max_thumbnail_bytes
  EXPECT_EQ(SendRef(*alice_, Id(*bob_), lie, "").status, Code::kInvalidArgument);
  // Bob forwards it to Carol: now she may fetch it.
  ASSERT_EQ(SendRef(*bob_, Id(*carol_), *ref, "fwd").status, Code::kOk);
  auto t = carol_->GetDownloadTicket(ref->asset_id);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const std::string dest = server_.root() + "/carol.pdf";
  ASSERT_TRUE(tools::DownloadFile(t->url, dest, t->size, t->sha256, BlobOpts(server_)).ok());
  EXPECT_EQ(ReadAll(dest), ReadAll(src));
  // A Carol-signed URL does not open another asset: the signature binds the key.
  std::string other = t->url;
  other.replace(other.find("/a/") + 3, 16, "0000000000000001");
  EXPECT_EQ(tools::DownloadFile(other, dest + "2", 0, "", BlobOpts(server_)).status().code(), Code::kForbidden);
}

TEST_F(MediaTest, GroupMembersMayDownloadAssetsSentToTheGroup) {
  auto g = alice_->CreateGroup("hikers", {Id(*bob_)});
  ASSERT_TRUE(g.ok());
  const std::string src = server_.root() + "/map.png";
  WriteFile(src, 5000, 9);
  auto ref = Upload(*alice_, server_, src, "image/png");
  ASSERT_TRUE(ref.ok());
  auto seq = alice_->SendMedia(0, g->group_id, {*ref}, "route");
  ASSERT_TRUE(seq.ok());
  auto ack = alice_->WaitForAck(*seq, kWaitMs);
  ASSERT_TRUE(ack.ok() && ack->status == Code::kOk);
  EXPECT_TRUE(bob_->GetDownloadTicket(ref->asset_id).ok());
  EXPECT_EQ(carol_->GetDownloadTicket(ref->asset_id).status().code(), Code::kForbidden);
}

TEST(MediaExpiry, AnUnreferencedUploadIsDeletedAfterItsTtl) {
  TestServer server({"--asset-unreferenced-ttl-ms", "300", "--expiry-interval-ms", "100"});
  ASSERT_TRUE(server.Start().ok());
  auto alice = std::move(RegisterUser(server, "+15550700011")).value();
  const std::string src = server.root() + "/x.bin";
  WriteFile(src, 1000, 1);
  auto ref = Upload(*alice, server, src, "application/octet-stream");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  auto ticket = alice->GetDownloadTicket(ref->asset_id);
  ASSERT_TRUE(ticket.ok());
  // The sweeper runs every 100 ms; poll (bounded) until the record is gone.
  Code code = Code::kOk;
  for (int i = 0; i < 100 && code == Code::kOk; ++i) {
    code = alice->GetDownloadTicket(ref->asset_id).status().code();
    if (code == Code::kOk) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(code, Code::kNotFound);
  // The object is gone too: the URL issued before now finds nothing.
  EXPECT_EQ(tools::DownloadFile(ticket->url, server.root() + "/x.out", 0, "", BlobOpts(server)).status().code(),
            Code::kNotFound);
  // And a reference to it can no longer be sent.
  auto seq = alice->SendMedia(alice->state().user_id, 0, {*ref}, "");
  ASSERT_TRUE(seq.ok());
  auto ack = alice->WaitForAck(*seq, kWaitMs);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->status, Code::kNotFound);
}

// The CLI: send-file with a drop halfway (resumed), listen shows the asset, download with a
// drop (resumed) and the SHA-256 check.
TEST(MediaCli, SendFileAndDownloadResumeAfterADrop) {
  TestServer server({}, Security::kTls);
  ASSERT_TRUE(server.Start().ok());
  auto run = [&](const std::string& state, std::vector<std::string> args) {
    std::vector<std::string> argv = {TERN_CLI_PATH, "--server", server.address(), "--state", state,
                                     "--io-timeout", "10", "--pin", server.data_dir() + "/tls/cert.sha256"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, 60000);
  };
  const std::string a = server.root() + "/alice.state", b = server.root() + "/bob.state";
  for (auto [state, phone] : {std::pair{a, std::string("+15550700021")}, std::pair{b, std::string("+15550700022")}}) {
    ASSERT_EQ(run(state, {"request-code", phone}).exit_code, 0);
    ProcessResult v = run(state, {"verify", phone, server.CodeFor(phone).value()});
    ASSERT_EQ(v.exit_code, 0) << v.err;
  }
  const std::string src = server.root() + "/voice.ogg";
  const std::string data = WriteFile(src, 600 * 1000, 5);
  ProcessResult sent =
      run(a, {"send-file", "+15550700022", src, "--caption", "listen to this", "--progress", "--test-cut-after", "250000"});
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  EXPECT_NE(sent.err.find("resuming"), std::string::npos) << sent.err;
  EXPECT_NE(sent.err.find("100%"), std::string::npos) << sent.err;
  std::smatch m;
  const std::string out = sent.out;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("asset_id=([0-9]+)"))) << out;
  const std::string asset = m[1].str();

  // A run that gives up halfway (no retries) leaves the upload unfinished; the next run of the
  // same command continues that asset instead of starting over.
  const std::string src2 = server.root() + "/video.mp4";
  const std::string data2 = WriteFile(src2, 800 * 1000, 11);
  ProcessResult gave_up = run(a, {"send-file", "+15550700022", src2, "--retries", "0", "--test-cut-after", "300000"});
  ASSERT_NE(gave_up.exit_code, 0) << gave_up.out << gave_up.err;
  ProcessResult again = run(a, {"send-file", "+15550700022", src2});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.err.find("resuming the upload of asset"), std::string::npos) << again.err;

  ProcessResult heard = run(b, {"listen", "--count", "2", "--timeout", "10"});
  ASSERT_EQ(heard.exit_code, 0) << heard.err;
  EXPECT_NE(heard.out.find("listen to this [asset " + asset + " audio/ogg 600000 B voice.ogg]"), std::string::npos)
      << heard.out;
  EXPECT_NE(heard.out.find("video/mp4 800000 B video.mp4]"), std::string::npos) << heard.out;
  const std::string dest = server.root() + "/got.ogg";
  ProcessResult got = run(b, {"download", asset, dest, "--test-cut-after", "200000"});
  ASSERT_EQ(got.exit_code, 0) << got.out << got.err;
  EXPECT_NE(got.err.find("resuming"), std::string::npos) << got.err;
  EXPECT_NE(got.out.find("sha256 ok"), std::string::npos) << got.out;
  EXPECT_EQ(ReadAll(dest), data);
  // Someone else's asset id: refused.
  const std::string c = server.root() + "/carol.state";
  ASSERT_EQ(run(c, {"request-code", "+15550700023"}).exit_code, 0);
  ASSERT_EQ(run(c, {"verify", "+15550700023", server.CodeFor("+15550700023").value()}).exit_code, 0);
  ProcessResult refused = run(c, {"download", asset, server.root() + "/nope"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("forbidden"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace tern::testing
