#include "server/blob/sigv4.h"
#include "wire/hex.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace tern::server::blob {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
constexpr uint32_t kMaxExpires = 604800;  // 7 days, S3's limit for presigned URLs

std::string Hex(const unsigned char* p, size_t n) {
  return HexLower(std::string_view(reinterpret_cast<const char*>(p), n));
}

std::string Sha256Hex(std::string_view s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  return Hex(md, sizeof md);
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &n);
  return std::string(reinterpret_cast<char*>(md), n);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

// Trims and collapses runs of spaces (SigV4's header value canonicalisation).
std::string CanonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char ch : v) {
    if (ch == ' ' || ch == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(ch);
  }
  return out;
}

int HexVal(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

struct Param {
  std::string name, value;  // decoded
};

Result<std::vector<Param>> ParseQuery(std::string_view q) {
  std::vector<Param> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = UriDecode(part.substr(0, eq));
    auto value = UriDecode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    if (!name.ok()) return name.status();
    if (!value.ok()) return value.status();
    out.push_back(Param{std::move(name).value(), std::move(value).value()});
  }
  return out;
}

const std::string* FindParam(const std::vector<Param>& ps, std::string_view name) {
  const std::string* found = nullptr;
  for (const auto& p : ps)
    if (p.name == name) {
      if (found != nullptr) return nullptr;  // duplicated auth parameters are refused
      found = &p.value;
    }
  return found;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char ch : s) {
    bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                 ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/');
    if (plain) {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return out;
}

Result<std::string> UriDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return Status(Code::kInvalidArgument, "truncated % escape");
    int hi = HexVal(s[i + 1]), lo = HexVal(s[i + 2]);
    if (hi < 0 || lo < 0) return Status(Code::kInvalidArgument, "bad % escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string FormatAmzDate(int64_t unix_s) {
  time_t t = static_cast<time_t>(unix_s);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

Result<int64_t> ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return Status(Code::kInvalidArgument, "bad X-Amz-Date");
  auto num = [&](size_t pos, size_t len, int* out) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  struct tm tm {};
  int y, mo, d, h, mi, se;
  if (!num(0, 4, &y) || !num(4, 2, &mo) || !num(6, 2, &d) || !num(9, 2, &h) || !num(11, 2, &mi) ||
      !num(13, 2, &se) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return Status(Code::kInvalidArgument, "bad X-Amz-Date");
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return static_cast<int64_t>(timegm(&tm));
}

Result<std::string> CanonicalQuery(std::string_view raw_query, std::string_view skip) {
  auto params = ParseQuery(raw_query);
  if (!params.ok()) return params.status();
  std::vector<std::pair<std::string, std::string>> enc;
  for (const auto& p : *params) {
    if (!skip.empty() && p.name == skip) continue;
    enc.emplace_back(UriEncode(p.name, false), UriEncode(p.value, false));
  }
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [n, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out += n;
    out.push_back('=');
    out += v;
  }
  return out;
}

Result<std::string> CanonicalRequest(const RequestView& req, const std::vector<std::string>& signed_headers,
                                     std::string_view payload_hash, std::string_view skip_query) {
  auto path = UriDecode(req.path);
  if (!path.ok()) return path.status();
  auto query = CanonicalQuery(req.query, skip_query);
  if (!query.ok()) return query.status();
  std::string out(req.method);
  out += '\n';
  out += UriEncode(path->empty() ? "/" : *path, true);
  out += '\n';
  out += *query;
  out += '\n';
  std::string names;
  for (const auto& name : signed_headers) {
    std::string joined;
    bool found = false;
    if (req.headers != nullptr)
      for (const auto& [n, v] : *req.headers)
        if (Lower(n) == name) {
          if (found) joined.push_back(',');
          joined += CanonicalValue(v);
          found = true;
        }
    if (!found) return Status(Code::kInvalidArgument, "signed header missing: " + name);
    out += name + ":" + joined + "\n";
    if (!names.empty()) names.push_back(';');
    names += name;
  }
  out += '\n';
  out += names;
  out += '\n';
  out += payload_hash;
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += Sha256Hex(canonical_request);
  return out;
}

std::string Scope(std::string_view yyyymmdd, const Credentials& c) {
  return std::string(yyyymmdd) + "/" + c.region + "/" + c.service + "/aws4_request";
}

std::string Signature(const Credentials& c, std::string_view yyyymmdd, std::string_view string_to_sign) {
  std::string k = Hmac("AWS4" + c.secret_access_key, yyyymmdd);
  k = Hmac(k, c.region);
  k = Hmac(k, c.service);
  k = Hmac(k, "aws4_request");
  std::string sig = Hmac(k, string_to_sign);
  return Hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

Result<std::string> AuthorizationHeader(const Credentials& c, const RequestView& req, std::string_view payload_hash) {
  std::vector<std::string> names;
  std::string amz_date;
  if (req.headers != nullptr)
    for (const auto& [n, v] : *req.headers) {
      std::string l = Lower(n);
      if (std::find(names.begin(), names.end(), l) == names.end()) names.push_back(l);
      if (l == "x-amz-date") amz_date = v;
    }
  if (amz_date.size() < 8) return Status(Code::kInvalidArgument, "X-Amz-Date header required");
  std::sort(names.begin(), names.end());
  auto canonical = CanonicalRequest(req, names, payload_hash);
  if (!canonical.ok()) return canonical.status();
  std::string day = amz_date.substr(0, 8);
  std::string scope = Scope(day, c);
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ";") + n;
  return std::string(kAlgorithm) + " Credential=" + c.access_key_id + "/" + scope + ", SignedHeaders=" + joined +
         ", Signature=" + Signature(c, day, StringToSign(amz_date, scope, *canonical));
}

std::string Presign(const Credentials& c, std::string_view method, std::string_view base_url,
                    std::string_view host, std::string_view path, int64_t now_s, uint32_t expires_s,
                    const Headers& extra_headers) {
  expires_s = std::clamp<uint32_t>(expires_s, 1, kMaxExpires);
  const std::string amz_date = FormatAmzDate(now_s);
  const std::string day = amz_date.substr(0, 8);
  const std::string scope = Scope(day, c);
  Headers headers{{"host", std::string(host)}};
  std::vector<std::string> names{"host"};
  for (const auto& [n, v] : extra_headers) {
    headers.emplace_back(Lower(n), v);
    names.push_back(Lower(n));
  }
  std::sort(names.begin(), names.end());
  std::string signed_names;
  for (const auto& n : names) signed_names += (signed_names.empty() ? "" : ";") + n;
  const std::string encoded_path = UriEncode(path, true);
  std::string query = "X-Amz-Algorithm=" + std::string(kAlgorithm) +
                      "&X-Amz-Credential=" + UriEncode(c.access_key_id + "/" + scope, false) +
                      "&X-Amz-Date=" + amz_date + "&X-Amz-Expires=" + std::to_string(expires_s) +
                      "&X-Amz-SignedHeaders=" + UriEncode(signed_names, false);
  RequestView req{method, encoded_path, query, &headers};
  // Cannot fail: every signed header is present and the query was encoded above.
  std::string canonical = CanonicalRequest(req, names, "UNSIGNED-PAYLOAD").value();
  std::string sig = Signature(c, day, StringToSign(amz_date, scope, canonical));
  return std::string(base_url) + encoded_path + "?" + query + "&X-Amz-Signature=" + sig;
}

Result<Verified> VerifyPresigned(const Credentials& c, const RequestView& req, int64_t now_s, int64_t max_skew_s) {
  auto params = ParseQuery(req.query);
  if (!params.ok()) return Status(Code::kBadCredentials, params.status().message());
  const std::string* alg = FindParam(*params, "X-Amz-Algorithm");
  const std::string* cred = FindParam(*params, "X-Amz-Credential");
  const std::string* date = FindParam(*params, "X-Amz-Date");
  const std::string* expires = FindParam(*params, "X-Amz-Expires");
  const std::string* signed_names = FindParam(*params, "X-Amz-SignedHeaders");
  const std::string* sig = FindParam(*params, "X-Amz-Signature");
  if (!alg || !cred || !date || !expires || !signed_names || !sig)
    return Status(Code::kBadCredentials, "missing or repeated X-Amz-* authentication parameters");
  if (*alg != kAlgorithm) return Status(Code::kBadCredentials, "unsupported X-Amz-Algorithm");
  auto t = ParseAmzDate(*date);
  if (!t.ok()) return Status(Code::kBadCredentials, t.status().message());
  const std::string day = date->substr(0, 8);
  if (*cred != c.access_key_id + "/" + Scope(day, c))
    return Status(Code::kBadCredentials, "X-Amz-Credential does not match this store's key, region or date");
  if (expires->empty() || expires->size() > 7 || expires->find_first_not_of("0123456789") != std::string::npos)
    return Status(Code::kBadCredentials, "bad X-Amz-Expires");
  const int64_t exp = std::stoll(*expires);
  if (exp < 1 || exp > kMaxExpires) return Status(Code::kBadCredentials, "X-Amz-Expires out of range");
  if (sig->size() != 64) return Status(Code::kBadCredentials, "bad X-Amz-Signature");
  std::vector<std::string> names;
  for (size_t pos = 0; pos <= signed_names->size();) {
    size_t semi = signed_names->find(';', pos);
    if (semi == std::string::npos) semi = signed_names->size();
    names.push_back(Lower(signed_names->substr(pos, semi - pos)));
    pos = semi + 1;
  }
  if (!std::is_sorted(names.begin(), names.end()) || std::find(names.begin(), names.end(), "host") == names.end() ||
      std::adjacent_find(names.begin(), names.end()) != names.end() ||
      std::find(names.begin(), names.end(), "") != names.end())
    return Status(Code::kBadCredentials, "X-Amz-SignedHeaders must list host, sorted, without repeats");
  auto canonical = CanonicalRequest(req, names, "UNSIGNED-PAYLOAD", "X-Amz-Signature");
  if (!canonical.ok()) return Status(Code::kForbidden, canonical.status().message());
  const std::string want = Signature(c, day, StringToSign(*date, Scope(day, c), *canonical));
  if (CRYPTO_memcmp(want.data(), Lower(*sig).data(), want.size()) != 0)
    return Status(Code::kForbidden, "signature does not match");
  // Time is judged after the signature, so a forged date learns nothing.
  if (now_s + max_skew_s < *t) return Status(Code::kForbidden, "request dated in the future");
  if (now_s >= *t + exp) return Status(Code::kExpired, "request has expired");
  Verified v;
  v.path = UriDecode(req.path).value();
  v.expires_at_s = *t + exp;
  v.signed_headers = std::move(names);
  return v;
}

}  // namespace tern::server::blob
