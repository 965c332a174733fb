// Accounts: users, phone index, devices, one-time codes and link codes, over a KvTxn.
//
// A thin typed layer: encodes records and keys, no policy (the server core decides who may do
// what). Every call works inside the caller's transaction, so one loop turn's writes commit
// together. Records are versioned binary (store/codec.h); an undecodable record is kCorrupt.
//
// Thread safety: as the KvTxn it wraps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/kv.h"

namespace tern::store {

struct UserRecord {
  uint64_t user_id = 0;
  std::string phone;
  uint32_t next_device_id = 1;  // device ids are never reused within a user
  uint64_t created_ms = 0;
};

struct DeviceRecord {
  uint64_t user_id = 0;
  uint32_t device_id = 0;
  std::string name;
  std::string token_hash;  // SHA-256 of the device token (32 bytes); the token is never stored
  uint64_t client_seq_high = 0;  // highest client seq with a stored SendResult
  // Highest client seq the client confirmed holding the ack of (Resume.last_acked_client_seq):
  // results at or below it are pruned. A seq in (confirmed, high] without a result was refused
  // as unavailable (nothing stored) and may be retried.
  uint64_t client_seq_confirmed = 0;
  uint64_t created_ms = 0;
  uint64_t last_seen_ms = 0;
};

struct OtpRecord {
  std::string code_hash;    // SHA-256 of the code
  uint64_t expires_ms = 0;
  uint32_t attempts = 0;    // failed verifications so far
  uint64_t issued_ms = 0;   // for the resend rate limit
  uint64_t next_try_ms = 0; // after a wrong guess: no verification before this time
};

struct LinkRecord {
  uint64_t user_id = 0;
  uint32_t issuer_device = 0;
  uint64_t expires_ms = 0;
};

class Accounts {
 public:
  explicit Accounts(KvTxn& txn) : txn_(txn) {}

  Result<std::optional<UserRecord>> GetUser(uint64_t user_id);
  Result<std::optional<uint64_t>> FindUserByPhone(const std::string& phone);
  // Writes the user and its phone index entry.
  Status PutUser(const UserRecord& u);

  Result<std::optional<DeviceRecord>> GetDevice(uint64_t user_id, uint32_t device_id);
  Status PutDevice(const DeviceRecord& d);
  // Removes the device record only (the caller drops its queue through Mailbox).
  Status DeleteDevice(uint64_t user_id, uint32_t device_id);
  // All devices of a user, ascending device id.
  Result<std::vector<DeviceRecord>> ListDevices(uint64_t user_id);

  Result<std::optional<OtpRecord>> GetOtp(const std::string& phone);
  Status PutOtp(const std::string& phone, const OtpRecord& r);
  Status DeleteOtp(const std::string& phone);

  Result<std::optional<LinkRecord>> GetLink(const std::string& code);
  Status PutLink(const std::string& code, const LinkRecord& r);
  Status DeleteLink(const std::string& code);

 private:
  KvTxn& txn_;
};

}  // namespace tern::store
