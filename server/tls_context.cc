#include "server/tls_context.h"
#include "server/log.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tern::server {
namespace {

std::string OpenSslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return what + ": " + buf;
}

// Writes `data` to `path` with mode 0600 (created before any byte is written).
Status WritePrivate(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return Status(Code::kUnavailable, "cannot write " + tmp + ": " + std::strerror(errno));
  ::chmod(tmp.c_str(), 0600);
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  ok = (std::fflush(f) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0)
    return Status(Code::kUnavailable, "cannot write " + path);
  return Status::Ok();
}

std::string Pem(int (*write)(BIO*, void*), void* obj) {
  BIO* b = BIO_new(BIO_s_mem());
  write(b, obj);
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

// A self-signed P-256 certificate for CN=ternd, valid for 10 years, naming localhost and the
// loopback addresses (so it can also serve as its own CA file for hostname-checking clients).
Status CreateSelfSigned(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return Status(Code::kInternal, OpenSslError("EC key generation"));
  X509* x = X509_new();
  X509_set_version(x, 2);
  uint8_t serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ternd"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    if (ext != nullptr) X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  Status st = Status::Ok();
  if (X509_sign(x, key, EVP_sha256()) == 0) st = Status(Code::kInternal, OpenSslError("sign certificate"));
  if (st.ok()) {
    std::string key_pem = Pem([](BIO* b, void* k) {
      return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr, nullptr);
    }, key);
    std::string cert_pem = Pem([](BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)); }, x);
    st = WritePrivate(key_path, key_pem);
    if (st.ok()) st = WritePrivate(cert_path, cert_pem);
    if (st.ok()) ::chmod(cert_path.c_str(), 0644);
  }
  X509_free(x);
  EVP_PKEY_free(key);
  return st;
}

int SelectAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  // Offered protocols: a list of length-prefixed names. Only options().alpn is spoken.
  auto* self = static_cast<TlsServerContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const std::string& alpn = self->options().alpn;
  const size_t want = alpn.size();
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == want && std::memcmp(in + i + 1, alpn.data(), want) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  // The chat protocol insists (no_application_protocol alert); HTTP goes on without ALPN.
  return alpn == kAlpn ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::string CertFingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, i == 0 ? "%02X" : ":%02X", md[i]);
    out += hex;
  }
  return out;
}

Result<std::unique_ptr<TlsServerContext>> TlsServerContext::Create(const TlsServerOptions& o) {
  if (o.ticket_lifetime_s == 0 || o.ticket_lifetime_s > 604800)
    return Status(Code::kInvalidArgument, "tls_ticket_lifetime_s must be 1..604800 (TLS 1.3 caps tickets at 7 days)");
  if (o.ticket_rotate_s == 0) return Status(Code::kInvalidArgument, "tls_ticket_rotate_s must be >= 1");
  if (o.cert_path.empty() != o.key_path.empty())
    return Status(Code::kInvalidArgument, "tls_cert and tls_key go together");
  std::unique_ptr<TlsServerContext> t(new TlsServerContext(o));
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  if (ec) return Status(Code::kUnavailable, "cannot create " + o.dir + ": " + ec.message());
  ::chmod(o.dir.c_str(), 0700);
  std::string cert = o.cert_path, key = o.key_path;
  if (cert.empty()) {
    cert = o.dir + "/cert.pem";
    key = o.dir + "/key.pem";
    if (!std::filesystem::exists(cert) || !std::filesystem::exists(key)) {
      TERN_RETURN_IF_ERROR(CreateSelfSigned(cert, key));
      t->created_ = true;
    }
  }
  t->cert_path_ = cert;

  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status(Code::kInternal, OpenSslError("SSL_CTX_new"));
  t->ctx_ = ctx;
  SSL_CTX_set_app_data(ctx, t.get());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // Server preference for the SHA-256 suites: smaller per-connection state (key schedule,
  // transcript hash) and smaller secrets in tickets than AES-256-GCM-SHA384, which OpenSSL
  // clients list first.
  SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    return Status(Code::kInvalidArgument, OpenSslError("tls_cert " + cert));
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
    return Status(Code::kInvalidArgument, OpenSslError("tls_key " + key));
  if (SSL_CTX_check_private_key(ctx) != 1)
    return Status(Code::kInvalidArgument, OpenSslError("tls_key does not match tls_cert"));
  t->fingerprint_ = CertFingerprint(SSL_CTX_get0_certificate(ctx));
  TERN_RETURN_IF_ERROR(WritePrivate(o.dir + "/cert.sha256", t->fingerprint_ + "\n"));
  ::chmod((o.dir + "/cert.sha256").c_str(), 0644);

  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  // Stateless tickets: nothing per session is kept on the server. One ticket per connection
  // (the default two cost ~200 bytes more per handshake on 2G for no gain: the client keeps
  // only the newest).
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_timeout(ctx, static_cast<long>(o.ticket_lifetime_s));
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // OpenSSL's built-in 0-RTT anti-replay would switch tickets to stateful (a server-side
  // session cache, lost on restart). Tern instead accepts only the idempotent Resume (and Ping)
  // from early data and holds everything else until the handshake completes: see the replay
  // rules in wire/PROTOCOL.md §1.
  if (o.max_early_data > 0) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_ANTI_REPLAY);
    SSL_CTX_set_max_early_data(ctx, o.max_early_data);
    SSL_CTX_set_recv_max_early_data(ctx, o.max_early_data);
  } else {
    SSL_CTX_set_max_early_data(ctx, 0);
    SSL_CTX_set_recv_max_early_data(ctx, 0);
  }
  TERN_RETURN_IF_ERROR(t->LoadTicketKeys());
  t->RotateTicketKeys(static_cast<uint64_t>(std::time(nullptr)));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, TicketKeyCallback);
  return t;
}

TlsServerContext::~TlsServerContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  OPENSSL_cleanse(keys_.data(), keys_.size() * sizeof(TicketKey));
}

Status TlsServerContext::LoadTicketKeys() {
  std::ifstream in(options_.dir + "/" + options_.ticket_keys_file, std::ios::binary);
  if (!in) return Status::Ok();  // first start
  std::stringstream ss;
  ss << in.rdbuf();
  std::string data = ss.str();
  if (data.size() % sizeof(TicketKey) != 0)
    return Status(Code::kInvalidArgument, options_.dir + "/ticket_keys is damaged (delete it to start over)");
  keys_.resize(data.size() / sizeof(TicketKey));
  std::memcpy(keys_.data(), data.data(), data.size());
  OPENSSL_cleanse(data.data(), data.size());
  return Status::Ok();
}

Status TlsServerContext::SaveTicketKeys() const {
  std::string data(reinterpret_cast<const char*>(keys_.data()), keys_.size() * sizeof(TicketKey));
  Status st = WritePrivate(options_.dir + "/" + options_.ticket_keys_file, data);
  OPENSSL_cleanse(data.data(), data.size());
  return st;
}

void TlsServerContext::RotateTicketKeys(uint64_t now_s) {
  const uint64_t keep = uint64_t{options_.ticket_rotate_s} + options_.ticket_lifetime_s;
  bool changed = false;
  while (!keys_.empty() && keys_.front().created_s + keep <= now_s) {
    keys_.erase(keys_.begin());
    changed = true;
  }
  if (keys_.empty() || keys_.back().created_s + options_.ticket_rotate_s <= now_s) {
    TicketKey k{};
    RAND_bytes(k.name.data(), k.name.size());
    RAND_priv_bytes(k.aes.data(), k.aes.size());
    RAND_priv_bytes(k.hmac.data(), k.hmac.size());
    k.created_s = now_s;
    keys_.push_back(k);
    changed = true;
  }
  // A failed save only costs resumption after a restart (clients fall back to a full
  // handshake), so it is reported and the key is used anyway.
  if (changed) {
    Status st = SaveTicketKeys();
    if (!st.ok()) Log(LogLevel::kWarn, "ticket_keys_save_failed").Err(st);
  }
}

int TlsServerContext::TicketKeyCallback(SSL* ssl, unsigned char* name, unsigned char* iv,
                                        EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  auto* self = static_cast<TlsServerContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const uint64_t now_s = static_cast<uint64_t>(std::time(nullptr));
  const TicketKey* key = nullptr;
  if (enc == 1) {
    self->RotateTicketKeys(now_s);
    key = &self->keys_.back();
    std::memcpy(name, key->name.data(), key->name.size());
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv) != 1) return -1;
  } else {
    const uint64_t keep = uint64_t{self->options_.ticket_rotate_s} + self->options_.ticket_lifetime_s;
    for (const TicketKey& k : self->keys_)
      if (std::memcmp(k.name.data(), name, k.name.size()) == 0 && k.created_s + keep > now_s) key = &k;
    if (key == nullptr) return 0;  // unknown or expired key: full handshake
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv) != 1) return -1;
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(key->hmac.data()),
                                        key->hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  if (enc == 1) return 1;
  return key == &self->keys_.back() ? 1 : 2;  // 2: valid, but issue a ticket under the new key
}

}  // namespace tern::server
