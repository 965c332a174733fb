// The SDK's blob client (tools/client/blob_client.h) against the real ternd's built-in store,
// with URLs presigned by the test: an upload cut halfway resumes from what landed; a download
// cut halfway resumes with Range; a wrong SHA-256 is caught on both sides. Plain and TLS.
#include "tools/client/blob_client.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>

#include "tests/integration/blob_util.h"

namespace tern::testing {
namespace {

std::string B64(const std::string& raw) {
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string WriteFile(const std::string& path, size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (auto& ch : s) {
    x = x * 1103515245 + 12345;
    ch = static_cast<char>(x >> 16);
  }
  std::ofstream(path, std::ios::binary) << s;
  return s;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class BlobClientTest : public ::testing::TestWithParam<Security> {
 protected:
  BlobClientTest() : server_({}, GetParam()) {}
  void SetUp() override { ASSERT_TRUE(server_.Start().ok()); }
  tools::BlobOptions Options() const {
    tools::BlobOptions o;
    o.io_timeout_ms = 10000;
    o.tls.pin_sha256 = GetParam() == Security::kTls ? server_.fingerprint() : "";
    return o;
  }
  TestServer server_;
};

INSTANTIATE_TEST_SUITE_P(PlainAndTls, BlobClientTest, ::testing::Values(Security::kPlain, Security::kTls));

TEST_P(BlobClientTest, AnUploadCutHalfwayResumesAndADownloadCutHalfwayResumesWithRange) {
  const std::string src = server_.root() + "/photo.jpg";
  const std::string data = WriteFile(src, 3 * 1000 * 1000 + 17);
  auto sha = tools::Sha256File(src);
  ASSERT_TRUE(sha.ok());
  const server::blob::Headers signed_headers{{"x-amz-checksum-sha256", B64(*sha)}};
  const std::string put = BlobUrl(server_, "PUT", "a/00000000000000c1", signed_headers);
  tools::BlobHeaders headers(signed_headers.begin(), signed_headers.end());

  tools::BlobOptions cut = Options();
  cut.cut_after_bytes = data.size() / 2;
  auto first = tools::UploadFile(put, headers, src, data.size(), cut);
  EXPECT_EQ(first.status().code(), Code::kUnavailable);
  // Not readable while incomplete.
  const std::string get = BlobUrl(server_, "GET", "a/00000000000000c1");
  const std::string dest = server_.root() + "/downloaded.jpg";
  EXPECT_EQ(tools::DownloadFile(get, dest, data.size(), *sha, Options()).status().code(), Code::kNotFound);
  ::unlink((dest + ".part").c_str());

  uint64_t first_progress = UINT64_MAX;
  tools::BlobOptions resume = Options();
  resume.progress = [&](uint64_t done, uint64_t) {
    if (first_progress == UINT64_MAX) first_progress = done;
  };
  auto second = tools::UploadFile(put, headers, src, data.size(), resume);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  // The second attempt continued where the store's part file ended (bytes still in flight when
  // the connection was reset are lost, as on a real drop, and simply sent again).
  EXPECT_GT(first_progress, 0u);
  EXPECT_EQ(first_progress + *second, data.size());

  tools::BlobOptions dcut = Options();
  dcut.cut_after_bytes = 1000 * 1000;
  EXPECT_EQ(tools::DownloadFile(get, dest, data.size(), *sha, dcut).status().code(), Code::kUnavailable);
  auto rest = tools::DownloadFile(get, dest, data.size(), *sha, Options());
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(*rest, data.size() - 1000 * 1000);  // exactly the rest: a Range request
  EXPECT_EQ(ReadAll(dest), data);
}

TEST_P(BlobClientTest, WrongContentIsRefusedOnUploadAndCaughtOnDownload) {
  const std::string src = server_.root() + "/doc.pdf";
  const std::string data = WriteFile(src, 5000);
  auto sha = tools::Sha256File(src);
  ASSERT_TRUE(sha.ok());
  std::string other_sha = *sha;
  other_sha[0] ^= 1;
  const server::blob::Headers wrong{{"x-amz-checksum-sha256", B64(other_sha)}};
  auto up = tools::UploadFile(BlobUrl(server_, "PUT", "a/00000000000000c2", wrong),
                              tools::BlobHeaders(wrong.begin(), wrong.end()), src, data.size(), Options());
  EXPECT_EQ(up.status().code(), Code::kInvalidArgument) << up.status().ToString();
  // Uploaded without a checksum, then downloaded expecting another SHA-256: refused, no file.
  ASSERT_TRUE(tools::UploadFile(BlobUrl(server_, "PUT", "a/00000000000000c3"), {}, src, data.size(), Options()).ok());
  const std::string dest = server_.root() + "/doc-copy.pdf";
  auto down = tools::DownloadFile(BlobUrl(server_, "GET", "a/00000000000000c3"), dest, data.size(), other_sha,
                                  Options());
  EXPECT_EQ(down.status().code(), Code::kCorrupt);
  EXPECT_FALSE(std::ifstream(dest).good());
  EXPECT_FALSE(std::ifstream(dest + ".part").good());
}

}  // namespace
}  // namespace tern::testing
