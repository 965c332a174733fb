// Interop with a real S3 client: tests/interop/s3_interop.py (Debian's python3-boto3) against
// the real ternd's built-in blob store over TLS (its self-signed certificate as the CA file).
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <chrono>

#include "tests/integration/blob_util.h"

namespace tern::testing {
namespace {

TEST(BlobInterop, Boto3AndTernSignTheSameUrlsAndTheStoreAcceptsBoth) {
  TestServer server({}, Security::kTls);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_NE(server.blob_port(), 0);
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string key = "a/00000000000000ab";
  const std::string payload = [] {
    std::string s;
    for (int i = 0; i < 1000; ++i) s += "signed by tern ";
    return s;
  }();
  // base64(sha256(payload)), as the asset service signs it (the script uploads this payload).
  unsigned char md[SHA256_DIGEST_LENGTH], b64[64];
  SHA256(reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), md);
  const std::string sum(reinterpret_cast<char*>(b64), static_cast<size_t>(EVP_EncodeBlock(b64, md, sizeof md)));
  const std::string put = BlobUrl(server, "PUT", key, {{"x-amz-checksum-sha256", sum}}, now, 600);
  const std::string get = BlobUrl(server, "GET", key, {}, now, 600);
  ProcessResult r = RunProcess({"/usr/bin/python3", std::string(TERN_SOURCE_DIR) + "/tests/interop/s3_interop.py", "--endpoint",
                                "https://127.0.0.1:" + std::to_string(server.blob_port()), "--credentials",
                                server.blob_credentials_path(), "--cafile", server.cert_path(), "--tern-get-url", get,
                                "--tern-put-url", put, "--tern-key", key, "--fixed-time", std::to_string(now),
                                "--expires", "600"},
                               60000);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok "), std::string::npos) << r.out;
  std::printf("%s", r.out.c_str());
}

}  // namespace
}  // namespace tern::testing
