// Accounts: key layouts and record encodings (all version 1, see store/codec.h).
//   kUsers   BE64 user_id                 -> user_id, phone, next_device_id, created_ms
//   kPhones  phone                        -> BE64 user_id
//   kDevices BE64 user_id | BE32 device   -> user_id, device_id, name, token_hash,
//                                            client_seq_high, created_ms, last_seen_ms,
//                                            client_seq_confirmed
//   kOtps    phone                        -> code_hash, expires_ms, attempts, issued_ms
//   kLinks   link code                    -> user_id, issuer_device, expires_ms
#include "store/accounts.h"

#include "store/codec.h"

namespace tern::store {
namespace {

using codec::RecordReader;
using codec::RecordWriter;

constexpr uint8_t kVersion = 1;

std::string UserKey(uint64_t user_id) { return codec::BE64(user_id); }

std::string DeviceKeyBytes(uint64_t user_id, uint32_t device_id) {
  std::string k = codec::BE64(user_id);
  codec::AppendBE32(k, device_id);
  return k;
}

Status NonEmpty(const std::string& s, const char* what) {
  if (s.empty()) return Status(Code::kInvalidArgument, std::string("empty ") + what);
  return Status::Ok();
}

std::string EncodeUser(const UserRecord& u) {
  return RecordWriter(kVersion).U64(u.user_id).Str(u.phone).U64(u.next_device_id)
      .U64(u.created_ms).Finish();
}
Status DecodeUser(std::string_view in, UserRecord* u) {
  RecordReader r(in, "user");
  r.Version(kVersion);
  u->user_id = r.U64();
  u->phone = r.Str();
  u->next_device_id = r.U32();
  u->created_ms = r.U64();
  return r.Finish();
}

std::string EncodeDevice(const DeviceRecord& d) {
  return RecordWriter(kVersion).U64(d.user_id).U64(d.device_id).Str(d.name).Str(d.token_hash)
      .U64(d.client_seq_high).U64(d.created_ms).U64(d.last_seen_ms).U64(d.client_seq_confirmed)
      .Finish();
}
Status DecodeDevice(std::string_view in, DeviceRecord* d) {
  RecordReader r(in, "device");
  r.Version(kVersion);
  d->user_id = r.U64();
  d->device_id = r.U32();
  d->name = r.Str();
  d->token_hash = r.Str();
  d->client_seq_high = r.U64();
  d->created_ms = r.U64();
  d->last_seen_ms = r.U64();
  d->client_seq_confirmed = r.U64();
  return r.Finish();
}

std::string EncodeOtp(const OtpRecord& o) {
  return RecordWriter(kVersion).Str(o.code_hash).U64(o.expires_ms).U64(o.attempts)
      .U64(o.issued_ms).U64(o.next_try_ms).Finish();
}
Status DecodeOtp(std::string_view in, OtpRecord* o) {
  RecordReader r(in, "otp");
  r.Version(kVersion);
  o->code_hash = r.Str();
  o->expires_ms = r.U64();
  o->attempts = r.U32();
  o->issued_ms = r.U64();
  o->next_try_ms = r.at_end() ? 0 : r.U64();  // appended field: absent in older records
  return r.Finish();
}

std::string EncodeLink(const LinkRecord& l) {
  return RecordWriter(kVersion).U64(l.user_id).U64(l.issuer_device).U64(l.expires_ms).Finish();
}
Status DecodeLink(std::string_view in, LinkRecord* l) {
  RecordReader r(in, "link");
  r.Version(kVersion);
  l->user_id = r.U64();
  l->issuer_device = r.U32();
  l->expires_ms = r.U64();
  return r.Finish();
}

// Reads and decodes one record; nullopt when absent.
template <typename T>
Result<std::optional<T>> GetRecord(KvTxn& txn, Table t, std::string_view key,
                                   Status (*decode)(std::string_view, T*)) {
  auto raw = txn.Get(t, key);
  if (!raw.ok()) return raw.status();
  if (!raw.value()) return std::optional<T>();
  T rec;
  TERN_RETURN_IF_ERROR(decode(*raw.value(), &rec));
  return std::optional<T>(std::move(rec));
}

}  // namespace

Result<std::optional<UserRecord>> Accounts::GetUser(uint64_t user_id) {
  auto u = GetRecord<UserRecord>(txn_, Table::kUsers, UserKey(user_id), DecodeUser);
  if (u.ok() && u.value() && u.value()->user_id != user_id) {
    return Status(Code::kCorrupt, "user record under the wrong key");
  }
  return u;
}

Result<std::optional<uint64_t>> Accounts::FindUserByPhone(const std::string& phone) {
  if (phone.empty()) return std::optional<uint64_t>();
  auto raw = txn_.Get(Table::kPhones, phone);
  if (!raw.ok()) return raw.status();
  if (!raw.value()) return std::optional<uint64_t>();
  auto id = codec::ParseBE64(*raw.value(), "phone index");
  if (!id.ok()) return id.status();
  return std::optional<uint64_t>(id.value());
}

Status Accounts::PutUser(const UserRecord& u) {
  TERN_RETURN_IF_ERROR(NonEmpty(u.phone, "phone"));
  // A changed phone moves the index entry, so the old number no longer finds this user.
  auto old = GetUser(u.user_id);
  if (!old.ok()) return old.status();
  if (old.value() && old.value()->phone != u.phone) {
    auto owner = FindUserByPhone(old.value()->phone);
    if (!owner.ok()) return owner.status();
    if (owner.value() == u.user_id) TERN_RETURN_IF_ERROR(txn_.Del(Table::kPhones, old.value()->phone));
  }
  TERN_RETURN_IF_ERROR(txn_.Put(Table::kUsers, UserKey(u.user_id), EncodeUser(u)));
  return txn_.Put(Table::kPhones, u.phone, codec::BE64(u.user_id));
}

Result<std::optional<DeviceRecord>> Accounts::GetDevice(uint64_t user_id, uint32_t device_id) {
  auto d = GetRecord<DeviceRecord>(txn_, Table::kDevices, DeviceKeyBytes(user_id, device_id),
                                   DecodeDevice);
  if (d.ok() && d.value() && (d.value()->user_id != user_id || d.value()->device_id != device_id)) {
    return Status(Code::kCorrupt, "device record under the wrong key");
  }
  return d;
}

Status Accounts::PutDevice(const DeviceRecord& d) {
  return txn_.Put(Table::kDevices, DeviceKeyBytes(d.user_id, d.device_id), EncodeDevice(d));
}

Status Accounts::DeleteDevice(uint64_t user_id, uint32_t device_id) {
  return txn_.Del(Table::kDevices, DeviceKeyBytes(user_id, device_id));
}

Result<std::vector<DeviceRecord>> Accounts::ListDevices(uint64_t user_id) {
  const std::string prefix = UserKey(user_id);
  std::vector<DeviceRecord> out;
  Status decode_error;
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kDevices, prefix, [&](std::string_view k,
                                                              std::string_view v) {
    if (!k.starts_with(prefix)) return false;
    DeviceRecord d;
    decode_error = DecodeDevice(v, &d);
    if (!decode_error.ok()) return false;
    out.push_back(std::move(d));
    return true;
  }));
  TERN_RETURN_IF_ERROR(decode_error);
  return out;
}

Result<std::optional<OtpRecord>> Accounts::GetOtp(const std::string& phone) {
  if (phone.empty()) return std::optional<OtpRecord>();
  return GetRecord<OtpRecord>(txn_, Table::kOtps, phone, DecodeOtp);
}

Status Accounts::PutOtp(const std::string& phone, const OtpRecord& r) {
  TERN_RETURN_IF_ERROR(NonEmpty(phone, "phone"));
  return txn_.Put(Table::kOtps, phone, EncodeOtp(r));
}

Status Accounts::DeleteOtp(const std::string& phone) { return txn_.Del(Table::kOtps, phone); }

Result<std::optional<LinkRecord>> Accounts::GetLink(const std::string& code) {
  if (code.empty()) return std::optional<LinkRecord>();
  return GetRecord<LinkRecord>(txn_, Table::kLinks, code, DecodeLink);
}

Status Accounts::PutLink(const std::string& code, const LinkRecord& r) {
  TERN_RETURN_IF_ERROR(NonEmpty(code, "link code"));
  return txn_.Put(Table::kLinks, code, EncodeLink(r));
}

Status Accounts::DeleteLink(const std::string& code) { return txn_.Del(Table::kLinks, code); }

}  // namespace tern::store
