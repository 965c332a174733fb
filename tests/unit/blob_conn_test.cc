// BlobConn (the blob store's HTTP logic) and FileStore without sockets: requests in, responses
// out, a fake clock. Each request is fed whole and one byte at a time.
#include "server/blob/blob_conn.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <filesystem>
#include <random>

namespace tern::server::blob {
namespace {

constexpr int64_t kNow = 1800000000;
constexpr uint64_t kNowMs = kNow * 1000ull;
constexpr char kHost[] = "127.0.0.1:7014";

std::string Sha256B64(const std::string& data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, md, sizeof md);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

struct Response {
  int status = 0;
  std::string head, body;
  std::string Header(const std::string& name) const {
    size_t p = head.find("\r\n" + name + ": ");
    if (p == std::string::npos) return "";
    p += name.size() + 4;
    return head.substr(p, head.find("\r\n", p) - p);
  }
};

// Splits concatenated responses (each with Content-Length; HEAD bodies are empty).
std::vector<Response> ParseResponses(std::string s, bool head_only = false) {
  std::vector<Response> out;
  while (!s.empty()) {
    size_t end = s.find("\r\n\r\n");
    if (end == std::string::npos) break;
    Response r;
    r.head = s.substr(0, end + 2);
    r.status = std::stoi(s.substr(9, 3));
    s.erase(0, end + 4);
    if (r.status == 100) continue;
    size_t len = head_only ? 0 : std::stoull("0" + r.Header("Content-Length"));
    r.body = s.substr(0, len);
    s.erase(0, std::min(len, s.size()));
    out.push_back(r);
  }
  return out;
}

class BlobConnTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tern_blob_conn_" + std::to_string(::getpid()) + "_" + std::to_string(std::random_device{}()));
    store_ = FileStore::Open(dir_.string()).value();
    options_.credentials = Credentials{"TERNTEST", "secret", "us-east-1", "s3"};
    options_.max_object_bytes = 1 << 20;
    options_.max_header_bytes = 2048;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The request target of a presigned URL for `method` on key `key`.
  std::string Target(const std::string& method, const std::string& key, const Headers& extra = {},
                     int64_t now = kNow, uint32_t expires = 900) {
    std::string url = Presign(options_.credentials, method, std::string("http://") + kHost, kHost,
                              "/" + options_.bucket + "/" + key, now, expires, extra);
    return url.substr(url.find('/', 8));
  }

  std::string Request(const std::string& method, const std::string& target, const std::string& headers,
                      const std::string& body = "") {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: " + kHost + "\r\n" + headers;
    if (method == "PUT") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
  }

  // Feeds `bytes` to `c` (whole, or byte by byte for the parameterised run) and drains output.
  std::string Exchange(BlobConn& c, const std::string& bytes, uint64_t now = kNowMs) {
    std::string out;
    auto drain = [&] {
      while (c.has_output()) out += c.TakeOutput(4096);
    };
    if (GetParam()) {
      for (char ch : bytes) {
        c.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&ch), 1), now);
        drain();
      }
    } else {
      c.Feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), now);
      drain();
    }
    return out;
  }

  std::vector<Response> Do(const std::string& bytes, bool head = false) {
    BlobConn c(options_, *store_, busy_, kNowMs);
    return ParseResponses(Exchange(c, bytes), head);
  }

  Response One(const std::string& bytes) {
    auto rs = Do(bytes);
    EXPECT_EQ(rs.size(), 1u);
    return rs.empty() ? Response{} : rs[0];
  }

  Response Put(const std::string& key, const std::string& body, bool checksum = true) {
    Headers extra;
    if (checksum) extra = {{"x-amz-checksum-sha256", Sha256B64(body)}};
    std::string h = checksum ? "x-amz-checksum-sha256: " + Sha256B64(body) + "\r\n" : "";
    return One(Request("PUT", Target("PUT", key, extra), h, body));
  }

  std::filesystem::path dir_;
  std::unique_ptr<FileStore> store_;
  BlobOptions options_;
  std::unordered_map<std::string, BlobConn*> busy_;
};

INSTANTIATE_TEST_SUITE_P(WholeAndBytewise, BlobConnTest, ::testing::Bool());

std::string Payload(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return s;
}

TEST_P(BlobConnTest, PutThenGetReturnsTheBytes) {
  const std::string body = Payload(10000);
  Response put = Put("a/0001", body);
  EXPECT_EQ(put.status, 200) << put.head << put.body;
  Response get = One(Request("GET", Target("GET", "a/0001"), ""));
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, body);
  EXPECT_EQ(get.Header("Accept-Ranges"), "bytes");
}

TEST_P(BlobConnTest, WrongChecksumIsRefusedAndNothingBecomesReadable) {
  const std::string body = Payload(500);
  Headers extra{{"x-amz-checksum-sha256", Sha256B64("something else")}};
  Response put = One(Request("PUT", Target("PUT", "a/0002", extra),
                             "x-amz-checksum-sha256: " + Sha256B64("something else") + "\r\n", body));
  EXPECT_EQ(put.status, 400);
  EXPECT_NE(put.body.find("BadDigest"), std::string::npos);
  EXPECT_EQ(One(Request("GET", Target("GET", "a/0002"), "")).status, 404);
}

TEST_P(BlobConnTest, RangeRequestsServeSlices) {
  const std::string body = Payload(1000);
  ASSERT_EQ(Put("a/0003", body).status, 200);
  const std::string t = Target("GET", "a/0003");
  Response mid = One(Request("GET", t, "Range: bytes=100-199\r\n"));
  EXPECT_EQ(mid.status, 206);
  EXPECT_EQ(mid.body, body.substr(100, 100));
  EXPECT_EQ(mid.Header("Content-Range"), "bytes 100-199/1000");
  Response open = One(Request("GET", t, "Range: bytes=900-\r\n"));
  EXPECT_EQ(open.body, body.substr(900));
  Response suffix = One(Request("GET", t, "Range: bytes=-10\r\n"));
  EXPECT_EQ(suffix.body, body.substr(990));
  Response beyond = One(Request("GET", t, "Range: bytes=1000-\r\n"));
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.Header("Content-Range"), "bytes */1000");
}

TEST_P(BlobConnTest, ResumableUploadAppendsAfterAQuery) {
  const std::string body = Payload(3000);
  Headers extra{{"x-amz-checksum-sha256", Sha256B64(body)}};
  const std::string t = Target("PUT", "a/0004", extra);
  const std::string sum = "x-amz-checksum-sha256: " + Sha256B64(body) + "\r\n";
  Response q0 = One(Request("PUT", t, sum + "Content-Range: bytes */3000\r\n"));
  EXPECT_EQ(q0.status, 308);
  EXPECT_EQ(q0.Header("Range"), "");
  Response first = One(Request("PUT", t, sum + "Content-Range: bytes 0-1199/3000\r\n", body.substr(0, 1200)));
  EXPECT_EQ(first.status, 308);
  EXPECT_EQ(first.Header("Range"), "bytes=0-1199");
  EXPECT_EQ(One(Request("GET", Target("GET", "a/0004"), "")).status, 404);  // not readable yet
  Response q1 = One(Request("PUT", t, sum + "Content-Range: bytes */3000\r\n"));
  EXPECT_EQ(q1.Header("Range"), "bytes=0-1199");
  // A resume at the wrong offset is refused and told where the upload ends.
  Response wrong = One(Request("PUT", t, sum + "Content-Range: bytes 1000-2999/3000\r\n", body.substr(1000)));
  EXPECT_EQ(wrong.status, 409);
  EXPECT_EQ(wrong.Header("Range"), "bytes=0-1199");
  Response rest = One(Request("PUT", t, sum + "Content-Range: bytes 1200-2999/3000\r\n", body.substr(1200)));
  EXPECT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(One(Request("GET", Target("GET", "a/0004"), "")).body, body);
  EXPECT_EQ(One(Request("PUT", t, sum + "Content-Range: bytes */3000\r\n")).status, 200);
}

TEST_P(BlobConnTest, AConnectionCutMidBodyLeavesTheLandedBytesForAResume) {
  const std::string body = Payload(4000);
  Headers extra{{"x-amz-checksum-sha256", Sha256B64(body)}};
  const std::string t = Target("PUT", "a/0005", extra);
  const std::string sum = "x-amz-checksum-sha256: " + Sha256B64(body) + "\r\n";
  {
    BlobConn c(options_, *store_, busy_, kNowMs);
    std::string req = Request("PUT", t, sum, body);
    Exchange(c, req.substr(0, req.size() - 2500));  // 1500 body bytes land, then the drop
  }
  Response q = One(Request("PUT", t, sum + "Content-Range: bytes */4000\r\n"));
  EXPECT_EQ(q.status, 308);
  EXPECT_EQ(q.Header("Range"), "bytes=0-1499");
  Response rest = One(Request("PUT", t, sum + "Content-Range: bytes 1500-3999/4000\r\n", body.substr(1500)));
  EXPECT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(One(Request("GET", Target("GET", "a/0005"), "")).body, body);
}

TEST_P(BlobConnTest, BadSignaturesExpiryAndOtherMethodsAreForbidden) {
  ASSERT_EQ(Put("a/0006", "hello").status, 200);
  std::string t = Target("GET", "a/0006");
  std::string tampered = t;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(One(Request("GET", tampered, "")).status, 403);
  EXPECT_EQ(One(Request("GET", Target("GET", "a/0006", {}, kNow - 1000, 900), "")).status, 403);
  EXPECT_EQ(One(Request("DELETE", t, "")).status, 403);  // a GET URL does not delete
  EXPECT_EQ(One(Request("GET", Target("GET", "a/0007"), "")).status, 404);
  EXPECT_EQ(One(Request("DELETE", Target("DELETE", "a/0006"), "")).status, 204);
  EXPECT_EQ(One(Request("GET", t, "")).status, 404);
}

TEST_P(BlobConnTest, PathTricksAreRefused) {
  for (const char* path : {"/tern/../etc/passwd", "/tern/a/../../x", "/tern/a%2F..%2Fx", "/tern/a%2fb",
                           "/tern//x", "/tern/./x", "/tern/a%5cb", "/tern/a%00b", "/tern/%2e%2e/x"}) {
    Response r = One(Request("GET", std::string(path) + "?X-Amz-Signature=x", ""));
    EXPECT_EQ(r.status, 400) << path;
  }
  EXPECT_EQ(One(Request("GET", "/other/key", "")).status, 404);
  EXPECT_EQ(One("GET http://evil/tern/x HTTP/1.1\r\nHost: x\r\n\r\n").status, 400);
}

TEST_P(BlobConnTest, LimitsAndBadLengthsAreRefused) {
  Response big = One(Request("GET", Target("GET", "a/0008"), "X-Pad: " + std::string(4000, 'a') + "\r\n"));
  EXPECT_EQ(big.status, 431);
  Response many = One(Request("GET", Target("GET", "a/0008"), [] {
    std::string h;
    for (int i = 0; i < 300; ++i) h += "X" + std::to_string(i) + ": 1\r\n";
    return h;
  }()));
  EXPECT_EQ(many.status, 431);
  std::string t = Target("PUT", "a/0009");
  EXPECT_EQ(One("PUT " + t + " HTTP/1.1\r\nHost: " + kHost + "\r\n\r\n").status, 411);
  EXPECT_EQ(One("PUT " + t + " HTTP/1.1\r\nHost: " + kHost + "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").status,
            411);
  EXPECT_EQ(One("PUT " + t + " HTTP/1.1\r\nHost: " + kHost + "\r\nContent-Length: 2000000\r\n\r\n").status, 413);
  EXPECT_EQ(One("PUT " + t + " HTTP/1.1\r\nHost: " + kHost +
                "\r\nContent-Length: 10\r\nContent-Range: bytes 0-99/100\r\n\r\n0123456789")
                .status,
            400);
  EXPECT_EQ(One("PUT " + t + " HTTP/1.1\r\nHost: " + kHost + "\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
                .status,
            400);
  EXPECT_EQ(One("PUT " + t + " HTTP/1.1\r\nHost: " + kHost + "\r\nContent-Length: -5\r\n\r\n").status, 400);
  EXPECT_EQ(One("GARBAGE\r\n\r\n").status, 400);
}

TEST_P(BlobConnTest, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_EQ(Put("a/000a", "first").status, 200);
  ASSERT_EQ(Put("a/000b", "second!").status, 200);
  auto rs = Do(Request("GET", Target("GET", "a/000a"), "") + Request("GET", Target("GET", "a/000b"), "") +
               Request("GET", Target("GET", "a/000a"), "Range: bytes=1-2\r\n"));
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].body, "first");
  EXPECT_EQ(rs[1].body, "second!");
  EXPECT_EQ(rs[2].body, "ir");
}

TEST_P(BlobConnTest, SlowHeadersTimeOutAndIdleConnectionsClose) {
  BlobConn c(options_, *store_, busy_, kNowMs);
  Exchange(c, "GET /tern/a HTTP/1.1\r\nHost: x\r\n", kNowMs);
  EXPECT_FALSE(c.CheckTimeouts(kNowMs + options_.header_timeout_ms - 1));
  Exchange(c, "X-Slow: 1\r\n", kNowMs + options_.header_timeout_ms - 1);  // a trickle does not help
  EXPECT_TRUE(c.CheckTimeouts(kNowMs + options_.header_timeout_ms));
  std::string out;
  while (c.has_output()) out += c.TakeOutput(4096);
  EXPECT_EQ(ParseResponses(out).at(0).status, 408);
  EXPECT_TRUE(c.close_after_output());
  BlobConn idle(options_, *store_, busy_, kNowMs);
  EXPECT_TRUE(idle.CheckTimeouts(kNowMs + options_.idle_timeout_ms));
  EXPECT_TRUE(idle.close_after_output());
}

TEST_P(BlobConnTest, ANewUploadOfAKeyTakesOverFromAStaleConnection) {
  const std::string body = Payload(100);
  const std::string t = Target("PUT", "a/000c");
  BlobConn stale(options_, *store_, busy_, kNowMs);
  std::string req = Request("PUT", t, "", body);
  Exchange(stale, req.substr(0, req.size() - 50));  // 50 bytes landed, then the link went quiet
  Response q = One(Request("PUT", t, "Content-Range: bytes */100\r\n"));
  EXPECT_EQ(q.Header("Range"), "bytes=0-49");
  EXPECT_TRUE(stale.close_after_output());  // taken over: it writes nothing more
  EXPECT_TRUE(Exchange(stale, req.substr(req.size() - 50)).empty());
  EXPECT_EQ(One(Request("PUT", t, "Content-Range: bytes 50-99/100\r\n", body.substr(50))).status, 200);
  EXPECT_EQ(One(Request("GET", Target("GET", "a/000c"), "")).body, body);
}

}  // namespace
}  // namespace tern::server::blob
