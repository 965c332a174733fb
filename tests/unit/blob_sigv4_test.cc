// SigV4 against AWS's published vectors (aws-sig-v4-test-suite: get-vanilla,
// get-vanilla-query-order-key-case, post-vanilla; the S3 API reference's header-signed GET
// Object and its presigned-URL example), then the verifier's refusals.
#include "server/blob/sigv4.h"

#include <gtest/gtest.h>

namespace tern::server::blob {
namespace {

constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Credentials SuiteCreds() {
  return Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};
}

Credentials S3Creds() {
  return Credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
}

std::string SuiteAuth(const char* method, const char* query) {
  Headers h{{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  RequestView r{method, "/", query, &h};
  return AuthorizationHeader(SuiteCreds(), r, kEmptySha).value();
}

TEST(SigV4, GetVanilla) {
  EXPECT_EQ(SuiteAuth("GET", ""),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, GetVanillaStringToSign) {
  Headers h{{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  RequestView r{"GET", "/", "", &h};
  auto canonical = CanonicalRequest(r, {"host", "x-amz-date"}, kEmptySha);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, std::string("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                                    "host;x-amz-date\n") + kEmptySha);
  EXPECT_EQ(StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", *canonical),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

TEST(SigV4, GetVanillaQueryIsTheSameRequest) {
  // get-vanilla-query: "GET /?" with nothing after '?' signs like get-vanilla.
  EXPECT_EQ(SuiteAuth("GET", ""), SuiteAuth("GET", "&"));
}

TEST(SigV4, GetVanillaQueryOrderKeyCase) {
  EXPECT_NE(SuiteAuth("GET", "Param2=value2&Param1=value1")
                .find("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
            std::string::npos);
}

TEST(SigV4, PostVanilla) {
  EXPECT_NE(SuiteAuth("POST", "").find("Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
            std::string::npos);
}

TEST(SigV4, S3GetObjectWithRangeHeader) {
  Headers h{{"Host", "examplebucket.s3.amazonaws.com"},
            {"Range", "bytes=0-9"},
            {"x-amz-content-sha256", kEmptySha},
            {"x-amz-date", "20130524T000000Z"}};
  RequestView r{"GET", "/test.txt", "", &h};
  auto auth = AuthorizationHeader(S3Creds(), r, kEmptySha);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(*auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

constexpr char kS3PresignedQuery[] =
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
    "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
    "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

TEST(SigV4, S3PresignedUrlExample) {
  const int64_t t = ParseAmzDate("20130524T000000Z").value();
  EXPECT_EQ(Presign(S3Creds(), "GET", "https://examplebucket.s3.amazonaws.com", "examplebucket.s3.amazonaws.com",
                    "/test.txt", t, 86400),
            std::string("https://examplebucket.s3.amazonaws.com/test.txt?") + kS3PresignedQuery);
}

struct VerifyCase {
  Headers headers{{"Host", "examplebucket.s3.amazonaws.com"}};
  Result<Verified> Run(const char* method, const std::string& path, const std::string& query, int64_t now) {
    RequestView r{method, path, query, &headers};
    return VerifyPresigned(S3Creds(), r, now);
  }
};

TEST(SigV4, VerifierAcceptsTheS3ExampleWithinItsLifetime) {
  const int64_t t = ParseAmzDate("20130524T000000Z").value();
  VerifyCase v;
  auto ok = v.Run("GET", "/test.txt", kS3PresignedQuery, t + 100);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->path, "/test.txt");
  EXPECT_EQ(ok->expires_at_s, t + 86400);
}

TEST(SigV4, VerifierRefusesExpiredTamperedAndRebound) {
  const int64_t t = ParseAmzDate("20130524T000000Z").value();
  VerifyCase v;
  EXPECT_EQ(v.Run("GET", "/test.txt", kS3PresignedQuery, t + 86400).status().code(), Code::kExpired);
  EXPECT_EQ(v.Run("PUT", "/test.txt", kS3PresignedQuery, t + 1).status().code(), Code::kForbidden);
  EXPECT_EQ(v.Run("GET", "/other.txt", kS3PresignedQuery, t + 1).status().code(), Code::kForbidden);
  std::string tampered = kS3PresignedQuery;
  tampered.back() = tampered.back() == '4' ? '5' : '4';
  EXPECT_EQ(v.Run("GET", "/test.txt", tampered, t + 1).status().code(), Code::kForbidden);
  std::string longer = std::string(kS3PresignedQuery);
  longer.replace(longer.find("Expires=86400"), 13, "Expires=86401");
  EXPECT_EQ(v.Run("GET", "/test.txt", longer, t + 1).status().code(), Code::kForbidden);
  EXPECT_EQ(v.Run("GET", "/test.txt", std::string(kS3PresignedQuery) + "&extra=1", t + 1).status().code(),
            Code::kForbidden);
  v.headers = {{"Host", "evil.example.com"}};
  EXPECT_EQ(v.Run("GET", "/test.txt", kS3PresignedQuery, t + 1).status().code(), Code::kForbidden);
  EXPECT_EQ(v.Run("GET", "/test.txt", "X-Amz-Algorithm=AWS4-HMAC-SHA256", t + 1).status().code(),
            Code::kBadCredentials);
  // Dated far in the future (clock skew beyond 15 minutes).
  VerifyCase w;
  EXPECT_EQ(w.Run("GET", "/test.txt", kS3PresignedQuery, t - 3600).status().code(), Code::kForbidden);
}

TEST(SigV4, PresignedUrlsRoundTripThroughTheVerifier) {
  Credentials c{"TERNKEY", "secret/with+chars", "eu-west-1", "s3"};
  const int64_t now = 1800000000;
  std::string url = Presign(c, "PUT", "http://127.0.0.1:7014", "127.0.0.1:7014", "/tern/a/00ff weird~key", now, 900,
                            {{"x-amz-checksum-sha256", "abc="}});
  size_t path_at = url.find('/', 8), q = url.find('?');
  std::string path = url.substr(path_at, q - path_at);
  EXPECT_EQ(path, "/tern/a/00ff%20weird~key");
  Headers h{{"host", "127.0.0.1:7014"}, {"X-Amz-Checksum-Sha256", "abc="}};
  RequestView r{"PUT", path, std::string_view(url).substr(q + 1), &h};
  auto v = VerifyPresigned(c, r, now + 10);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->path, "/tern/a/00ff weird~key");
  // The signed checksum header must be sent as signed.
  h[1].second = "abd=";
  EXPECT_EQ(VerifyPresigned(c, r, now + 10).status().code(), Code::kForbidden);
  h.pop_back();
  EXPECT_EQ(VerifyPresigned(c, r, now + 10).status().code(), Code::kForbidden);
}

TEST(SigV4, UriEncodingAndDates) {
  EXPECT_EQ(UriEncode("a b/c~d*e", true), "a%20b/c~d%2Ae");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriDecode("%41%2f").value(), "A/");
  EXPECT_FALSE(UriDecode("%4").ok());
  EXPECT_FALSE(UriDecode("%zz").ok());
  EXPECT_EQ(FormatAmzDate(0), "19700101T000000Z");
  EXPECT_EQ(ParseAmzDate("20150830T123600Z").value(), 1440938160);
  EXPECT_FALSE(ParseAmzDate("2015-08-30T12:36").ok());
}

}  // namespace
}  // namespace tern::server::blob
