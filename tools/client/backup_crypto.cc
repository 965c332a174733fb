#include "tools/client/backup_crypto.h"

#include <sodium.h>

#include <cstring>

namespace tern::tools {
namespace {

constexpr std::string_view kMagic = "TERNBKUP";
constexpr uint8_t kVersion = 1, kKdfArgon2id = 1, kAeadSecretstream = 1;
constexpr uint64_t kMaxOps = 64;
constexpr uint64_t kMaxMem = 1ull << 30;
constexpr uint32_t kMaxChunk = 1u << 20;
constexpr std::string_view kCheckLabel = "tern-backup-key-check";
constexpr size_t kKeyBytes = crypto_secretstream_xchacha20poly1305_KEYBYTES;
static_assert(kBackupHeaderBytes == 64 + crypto_secretstream_xchacha20poly1305_HEADERBYTES);
static_assert(crypto_pwhash_SALTBYTES == 16);

void PutLe(unsigned char* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint64_t GetLe(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// The key stays in this object and is wiped when it dies.
struct Key {
  unsigned char k[kKeyBytes];
  ~Key() { sodium_memzero(k, sizeof k); }
};

Status Derive(std::string_view pass, const unsigned char* salt, uint64_t ops, uint64_t mem, Key* key,
              unsigned char check[16]) {
  if (sodium_init() < 0) return Status(Code::kInternal, "libsodium could not be initialised");
  if (ops < crypto_pwhash_OPSLIMIT_MIN || mem < crypto_pwhash_MEMLIMIT_MIN || ops > kMaxOps || mem > kMaxMem)
    return Status(Code::kInvalidArgument, "backup KDF parameters out of range (opslimit " + std::to_string(ops) +
                                              ", memlimit " + std::to_string(mem) + ")");
  if (crypto_pwhash(key->k, sizeof key->k, pass.data(), pass.size(), salt, ops, static_cast<size_t>(mem),
                    crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status(Code::kUnavailable, "Argon2id could not allocate " + std::to_string(mem >> 20) + " MiB");
  crypto_generichash(check, 16, U(kCheckLabel), kCheckLabel.size(), key->k, sizeof key->k);
  return Status::Ok();
}

}  // namespace

Result<std::string> EncryptBackup(std::string_view plaintext, std::string_view passphrase, const BackupKdf& kdf,
                                  uint32_t chunk_bytes) {
  if (passphrase.empty()) return Status(Code::kInvalidArgument, "empty passphrase");
  if (chunk_bytes == 0 || chunk_bytes > kMaxChunk) return Status(Code::kInvalidArgument, "bad chunk size");
  if (sodium_init() < 0) return Status(Code::kInternal, "libsodium could not be initialised");
  unsigned char header[kBackupHeaderBytes] = {};
  std::memcpy(header, kMagic.data(), 8);
  header[8] = kVersion;
  header[9] = kKdfArgon2id;
  header[10] = kAeadSecretstream;
  PutLe(header + 12, chunk_bytes, 4);
  PutLe(header + 16, kdf.opslimit, 8);
  PutLe(header + 24, kdf.memlimit, 8);
  randombytes_buf(header + 32, 16);
  Key key;
  TERN_RETURN_IF_ERROR(Derive(passphrase, header + 32, kdf.opslimit, kdf.memlimit, &key, header + 48));
  crypto_secretstream_xchacha20poly1305_state st;
  crypto_secretstream_xchacha20poly1305_init_push(&st, header + 64, key.k);

  std::string out(reinterpret_cast<const char*>(header), sizeof header);
  size_t pos = 0;
  std::string chunk;
  do {
    const size_t n = std::min<size_t>(chunk_bytes, plaintext.size() - pos);
    const bool last = pos + n == plaintext.size();
    chunk.resize(n + crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(&st, reinterpret_cast<unsigned char*>(chunk.data()), &clen,
                                               U(plaintext) + pos, n, header, sizeof header,
                                               last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
    unsigned char len[4];
    PutLe(len, clen, 4);
    out.append(reinterpret_cast<const char*>(len), 4);
    out.append(chunk.data(), clen);
    pos += n;
    if (last) break;
  } while (true);
  sodium_memzero(&st, sizeof st);
  return out;
}

Result<std::string> DecryptBackup(std::string_view in, std::string_view passphrase) {
  if (in.size() < kBackupHeaderBytes || in.substr(0, 8) != kMagic)
    return Status(Code::kCorrupt, "not a Tern history backup");
  const unsigned char* h = U(in);
  if (h[8] != kVersion || h[9] != kKdfArgon2id || h[10] != kAeadSecretstream || h[11] != 0)
    return Status(Code::kCorrupt, "unsupported backup version or algorithm");
  const uint32_t chunk_bytes = static_cast<uint32_t>(GetLe(h + 12, 4));
  if (chunk_bytes == 0 || chunk_bytes > kMaxChunk) return Status(Code::kCorrupt, "backup header damaged (chunk size)");
  Key key;
  unsigned char check[16];
  TERN_RETURN_IF_ERROR(Derive(passphrase, h + 32, GetLe(h + 16, 8), GetLe(h + 24, 8), &key, check));
  if (sodium_memcmp(check, h + 48, 16) != 0)
    return Status(Code::kBadCredentials, "wrong passphrase for this backup");
  crypto_secretstream_xchacha20poly1305_state st;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&st, h + 64, key.k) != 0)
    return Status(Code::kCorrupt, "backup header damaged");

  std::string out;
  std::string_view rest = in.substr(kBackupHeaderBytes);
  bool final = false;
  while (!final) {
    if (rest.size() < 4) return Status(Code::kCorrupt, "backup truncated (no final chunk)");
    const uint64_t clen = GetLe(U(rest), 4);
    rest.remove_prefix(4);
    if (clen < crypto_secretstream_xchacha20poly1305_ABYTES ||
        clen > chunk_bytes + crypto_secretstream_xchacha20poly1305_ABYTES)
      return Status(Code::kCorrupt, "backup damaged (bad chunk length)");
    if (rest.size() < clen) return Status(Code::kCorrupt, "backup truncated");
    const size_t at = out.size();
    out.resize(at + clen - crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long mlen = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&st, reinterpret_cast<unsigned char*>(out.data()) + at, &mlen, &tag,
                                                   U(rest), clen, h, kBackupHeaderBytes) != 0) {
      sodium_memzero(out.data(), out.size());
      return Status(Code::kCorrupt, "backup damaged or tampered with (authentication failed)");
    }
    out.resize(at + mlen);
    rest.remove_prefix(clen);
    final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  }
  if (!rest.empty()) {
    sodium_memzero(out.data(), out.size());
    return Status(Code::kCorrupt, "backup damaged (bytes after the final chunk)");
  }
  return out;
}

}  // namespace tern::tools
