#include "server/crypto.h"
#include "wire/hex.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace tern::server {

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) std::abort();
  return std::string(reinterpret_cast<char*>(md), len);
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string HexEncode(std::string_view raw) { return HexLower(raw); }

uint64_t Entropy::U64() {
  uint64_t v;
  Fill(&v, sizeof v);
  return v;
}

uint32_t Entropy::U32() {
  uint32_t v;
  Fill(&v, sizeof v);
  return v;
}

std::string Entropy::Digits(int digits) {
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    uint8_t b;
    Fill(&b, 1);
    if (b < 250) out.push_back(static_cast<char>('0' + b % 10));  // reject 250..255: no bias
  }
  return out;
}

std::string Entropy::Token() {
  std::string raw(32, '\0');
  Fill(raw.data(), raw.size());
  return HexEncode(raw);
}

void SystemEntropy::Fill(void* out, size_t n) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) != 1) std::abort();
}

}  // namespace tern::server
