// Small crypto helpers over OpenSSL's libcrypto: SHA-256, random bytes, constant-time compare.
//
// Entropy is an interface so the core can be driven deterministically in tests.
// Thread safety: the functions are thread-safe; an Entropy implementation documents its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tern::server {

std::string Sha256(std::string_view data);  // 32 raw bytes
bool ConstantTimeEqual(std::string_view a, std::string_view b);
std::string HexEncode(std::string_view raw);

class Entropy {
 public:
  virtual ~Entropy() = default;
  virtual void Fill(void* out, size_t n) = 0;
  uint64_t U64();
  uint32_t U32();
  // `digits` decimal digits, uniformly distributed (rejection sampling).
  std::string Digits(int digits);
  // 32 random bytes, hex-encoded (a device token).
  std::string Token();
};

// OpenSSL RAND_bytes; aborts if the CSPRNG fails (an invariant of the platform).
class SystemEntropy : public Entropy {
 public:
  void Fill(void* out, size_t n) override;
};

}  // namespace tern::server
