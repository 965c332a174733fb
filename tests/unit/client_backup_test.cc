// The backup container (tools/client/backup_crypto.h): round trips, and every way a wrong
// passphrase or damaged data is refused without returning plaintext.
#include <gtest/gtest.h>

#include <string>

#include "tools/client/backup_crypto.h"

namespace tern::tools {
namespace {

std::string Data(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

const BackupKdf kFast = BackupKdf::Minimum();

TEST(BackupCryptoTest, RoundTripsManyChunksAndEmpty) {
  const std::string plain = Data(10000);
  auto sealed = EncryptBackup(plain, "correct horse", kFast, 1024);  // 10 chunks
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->substr(0, 8), "TERNBKUP");
  EXPECT_EQ(sealed->find(plain.substr(0, 64)), std::string::npos);  // no plaintext leaks
  auto opened = DecryptBackup(*sealed, "correct horse");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);

  auto empty = EncryptBackup("", "pw", kFast);
  ASSERT_TRUE(empty.ok());
  auto back = DecryptBackup(*empty, "pw");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "");
  // Fresh salt and stream header each time: the same input seals differently.
  EXPECT_NE(EncryptBackup(plain, "correct horse", kFast, 1024).value(), *sealed);
}

TEST(BackupCryptoTest, WrongPassphraseIsBadCredentials) {
  auto sealed = EncryptBackup("secret history", "right", kFast);
  ASSERT_TRUE(sealed.ok());
  auto r = DecryptBackup(*sealed, "wrong");
  EXPECT_EQ(r.status().code(), Code::kBadCredentials);
  EXPECT_NE(r.status().message().find("wrong passphrase"), std::string::npos);
  EXPECT_EQ(EncryptBackup("x", "", kFast).status().code(), Code::kInvalidArgument);
}

TEST(BackupCryptoTest, AnyFlippedByteIsRefused) {
  const std::string plain = Data(3000);
  auto sealed = EncryptBackup(plain, "pw", kFast, 1024);
  ASSERT_TRUE(sealed.ok());
  // Every byte of the header and a sample of the body: never ok, never the plaintext.
  for (size_t i = 0; i < sealed->size(); i += (i < kBackupHeaderBytes + 8 ? 1 : 97)) {
    std::string bad = *sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = DecryptBackup(bad, "pw");
    ASSERT_FALSE(r.ok()) << "flipped byte " << i << " went unnoticed";
    EXPECT_NE(r.status().code(), Code::kOk);
  }
  std::string body = *sealed;
  body[body.size() - 5] ^= 0x40;
  EXPECT_EQ(DecryptBackup(body, "pw").status().code(), Code::kCorrupt);
}

TEST(BackupCryptoTest, TruncatedOrExtendedIsCorrupt) {
  auto sealed = EncryptBackup(Data(4096), "pw", kFast, 1024);
  ASSERT_TRUE(sealed.ok());
  const size_t chunk = 4 + 1024 + 17;
  // Cut at a chunk boundary (the FINAL chunk missing), inside a chunk, inside the header.
  for (size_t keep : {sealed->size() - chunk, sealed->size() - 1, kBackupHeaderBytes + 2, size_t{20}, size_t{0}}) {
    auto r = DecryptBackup(sealed->substr(0, keep), "pw");
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << "kept " << keep << ": " << r.status().ToString();
  }
  EXPECT_EQ(DecryptBackup(*sealed + "x", "pw").status().code(), Code::kCorrupt);
  EXPECT_EQ(DecryptBackup("not a backup at all, just some text here, long enough to pass the header size check "
                          "of eighty-eight bytes",
                          "pw")
                .status()
                .code(),
            Code::kCorrupt);
}

TEST(BackupCryptoTest, HostileKdfParametersAreRefusedBeforeUse) {
  auto sealed = EncryptBackup("x", "pw", kFast);
  ASSERT_TRUE(sealed.ok());
  std::string bad = *sealed;
  bad[24 + 7] = 0x7f;  // memlimit in the exabytes: refused, not allocated
  EXPECT_EQ(DecryptBackup(bad, "pw").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace tern::tools
