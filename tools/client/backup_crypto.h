// Backup encryption: a history export (History::Export) sealed with a user passphrase, in a
// versioned container. libsodium only: Argon2id (crypto_pwhash) turns the passphrase and a
// random salt into a 256-bit key; XChaCha20-Poly1305 secretstream
// (crypto_secretstream_xchacha20poly1305) encrypts the data in chunks, the last one tagged
// FINAL, so truncation, reordering, a flipped byte anywhere and trailing bytes are all
// detected. The whole header is the associated data of every chunk (authenticated), so the KDF
// parameters cannot be swapped either.
//
// Container, version 1 (integers little-endian):
//   offset  0  "TERNBKUP"                      magic
//           8  u8 version (1), u8 kdf (1 = Argon2id v1.3), u8 aead (1 = secretstream
//              XChaCha20-Poly1305), u8 reserved (0)
//          12  u32 chunk_bytes                 plaintext bytes per chunk (1 .. 1 MiB)
//          16  u64 opslimit, 24 u64 memlimit   Argon2id cost (bounded: ops <= 64, mem <= 1 GiB)
//          32  salt[16]
//          48  key_check[16]                   BLAKE2b-128 keyed with the key over
//                                              "tern-backup-key-check" (tells a wrong
//                                              passphrase apart from damaged data)
//          64  secretstream header[24]
//          88  chunks: u32 ciphertext length (<= chunk_bytes + 17), ciphertext
// What the passphrase protects: every byte of the history (texts, names, media references and
// their thumbnails, marks). The container reveals only its size and the KDF parameters.
//
// Thread safety: pure functions (libsodium is initialised once, thread-safely).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "wire/status.h"

namespace tern::tools {

struct BackupKdf {
  uint64_t opslimit = 3;           // crypto_pwhash_OPSLIMIT_MODERATE
  uint64_t memlimit = 256u << 20;  // crypto_pwhash_MEMLIMIT_MODERATE (256 MiB)
  static BackupKdf Moderate() { return {}; }
  static BackupKdf Interactive() { return {2, 64u << 20}; }
  // Argon2id's minimum (1 pass, 8 KiB): for tests only, offers no real protection.
  static BackupKdf Minimum() { return {1, 8192}; }
};

inline constexpr uint32_t kBackupChunkBytes = 64 * 1024;
inline constexpr size_t kBackupHeaderBytes = 88;

// Encrypts `plaintext` under `passphrase` (non-empty). Errors: kInvalidArgument (empty
// passphrase, KDF limits outside libsodium's range), kUnavailable (the KDF could not get its
// memory).
Result<std::string> EncryptBackup(std::string_view plaintext, std::string_view passphrase, const BackupKdf& kdf,
                                  uint32_t chunk_bytes = kBackupChunkBytes);

// Decrypts and verifies a whole container. Errors: kBadCredentials (wrong passphrase),
// kCorrupt (not a Tern backup, unknown version, damaged or tampered data, truncated, trailing
// bytes), kInvalidArgument (KDF parameters over the bounds above), kUnavailable (KDF memory).
// On any error nothing is returned: no partial plaintext.
Result<std::string> DecryptBackup(std::string_view container, std::string_view passphrase);

}  // namespace tern::tools
