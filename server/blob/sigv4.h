// SigV4: AWS Signature Version 4 — signing and verifying, including S3 presigned URLs (query
// authentication). Sans-IO: no clock reads (time is an argument, Unix seconds), no sockets.
//
// Canonicalisation follows S3's dialect: the canonical URI is the path, percent-decoded once
// and re-encoded with RFC 3986 unreserved characters kept and '/' kept (no path
// normalisation, no double encoding); query names and values are decoded and re-encoded the
// same way ('/' encoded too) and sorted by name, then value. Presigned URLs sign the payload
// as "UNSIGNED-PAYLOAD", as S3 and botocore do.
//
// References: AWS "Signature Version 4 signing process", the aws-sig-v4-test-suite, and the
// S3 API reference "Authenticating Requests: Using Query Parameters". Test vectors are in
// tests/unit/blob_sigv4_test.cc.
//
// Thread safety: plain functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wire/status.h"

namespace tern::server::blob {

using Headers = std::vector<std::pair<std::string, std::string>>;  // name (any case), value

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region = "us-east-1";
  std::string service = "s3";
};

// The parts of a request that take part in a signature. `path` and `query` are raw, as on the
// request line (still percent-encoded); `headers` as received (names in any case).
struct RequestView {
  std::string_view method;
  std::string_view path;
  std::string_view query;
  const Headers* headers = nullptr;
};

// Percent-encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/' when keep_slash), with
// upper-case hex, as SigV4 requires.
std::string UriEncode(std::string_view s, bool keep_slash);
// Decodes %XX escapes ('+' stays '+', as in S3). Errors: kInvalidArgument (a bad escape).
Result<std::string> UriDecode(std::string_view s);

// "YYYYMMDDTHHMMSSZ" of `unix_s` (UTC), and the reverse. ParseAmzDate errors: kInvalidArgument.
std::string FormatAmzDate(int64_t unix_s);
Result<int64_t> ParseAmzDate(std::string_view s);

// The canonical query string of a raw query, leaving out the parameter named `skip` (empty:
// none). Errors: kInvalidArgument (a bad escape).
Result<std::string> CanonicalQuery(std::string_view raw_query, std::string_view skip = {});

// The canonical request. `signed_headers` are lower-case names in ascending order; each must be
// present in `req.headers` (else kInvalidArgument). `payload_hash` is the hex SHA-256 of the
// body or "UNSIGNED-PAYLOAD".
Result<std::string> CanonicalRequest(const RequestView& req, const std::vector<std::string>& signed_headers,
                                     std::string_view payload_hash, std::string_view skip_query = {});

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical_request)>".
std::string StringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);
// "<yyyymmdd>/<region>/<service>/aws4_request".
std::string Scope(std::string_view yyyymmdd, const Credentials& c);
// Hex HMAC-SHA256 signature of `string_to_sign` under the key derived for `yyyymmdd`.
std::string Signature(const Credentials& c, std::string_view yyyymmdd, std::string_view string_to_sign);

// Header authentication (used by the test-suite vectors): the request must carry an
// X-Amz-Date header; every header in `req.headers` is signed. Returns the Authorization value
// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
Result<std::string> AuthorizationHeader(const Credentials& c, const RequestView& req, std::string_view payload_hash);

// A presigned URL: `<base_url><path>?X-Amz-Algorithm=...&X-Amz-Signature=...`. `base_url` is
// "scheme://host[:port]" and `host` the Host header value the client will send (its
// authority). `path` is the raw (unencoded) object path, e.g. "/bucket/a/00ff". `extra_headers`
// are further headers the client must send verbatim (e.g. x-amz-checksum-sha256); they are
// signed with host. `expires_s` must be 1..604800.
std::string Presign(const Credentials& c, std::string_view method, std::string_view base_url,
                    std::string_view host, std::string_view path, int64_t now_s, uint32_t expires_s,
                    const Headers& extra_headers = {});

// What a verified presigned request was signed for.
struct Verified {
  std::string path;        // decoded object path, e.g. "/bucket/key"
  int64_t expires_at_s = 0;
  std::vector<std::string> signed_headers;
};

// Verifies a presigned (query-authenticated) request at time `now_s`: algorithm, credential
// (key id, region, service, date matching X-Amz-Date), X-Amz-Expires (1..604800), not expired
// and not dated more than `max_skew_s` in the future, `host` among the signed headers and every
// signed header present, and the signature (compared in constant time) over method, path,
// query and signed headers. Errors: kBadCredentials (missing/malformed auth parameters,
// unknown key), kForbidden (signature mismatch: tampered URL, other method or path),
// kExpired (past X-Amz-Date + X-Amz-Expires).
Result<Verified> VerifyPresigned(const Credentials& c, const RequestView& req, int64_t now_s,
                                 int64_t max_skew_s = 900);

}  // namespace tern::server::blob
