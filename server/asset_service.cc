#include "server/asset_service.h"
#include "server/log.h"

#include <openssl/evp.h>

#include <cstdio>
#include <vector>

#include "store/assets.h"
#include "store/codec.h"
#include "store/groups.h"

namespace tern::server {
namespace {

constexpr size_t kMaxMime = 127;

std::string Base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Whether `user` is a member of the chat whose ChatKey::Encode() is `key`.
Result<bool> IsMember(store::KvTxn& txn, uint64_t user, std::string_view key) {
  if (key.size() != 17) return Status(Code::kCorrupt, "asset ref: bad chat key");
  const uint8_t kind = static_cast<uint8_t>(key[0]);
  const uint64_t a = store::codec::LoadBE64(key.data() + 1);
  const uint64_t b = store::codec::LoadBE64(key.data() + 9);
  if (kind == 0) return user == a || user == b;
  auto g = store::Groups(txn).Get(a);
  if (!g.ok()) return g.status();
  return g.value() && g.value()->Find(user) != nullptr;
}

}  // namespace

AssetService::AssetService(AssetSettings settings, BlobEndpoint endpoint, BlobRemover* remover)
    : settings_(settings), endpoint_(std::move(endpoint)), remover_(remover) {}

std::string AssetService::ObjectKey(uint64_t asset_id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "a/%016llx", static_cast<unsigned long long>(asset_id));
  return buf;
}

AssetTicket AssetService::Sign(const char* method, uint64_t asset_id, uint64_t now_ms, uint32_t ttl_s,
                               const blob::Headers& extra) const {
  // base_url is scheme://authority; the Host header the client sends is the authority.
  const std::string& base = endpoint_.base_url;
  const size_t scheme_end = base.find("://");
  const std::string scheme = base.substr(0, scheme_end + 3);
  std::string host = base.substr(scheme_end + 3);
  std::string path = "/" + ObjectKey(asset_id);
  if (endpoint_.virtual_host) host = endpoint_.bucket + "." + host;
  else path = "/" + endpoint_.bucket + path;
  AssetTicket t;
  t.asset_id = asset_id;
  t.method = method;
  t.url = blob::Presign(endpoint_.credentials, method, scheme + host, host, path, static_cast<int64_t>(now_ms / 1000),
                        ttl_s, extra);
  t.headers = extra;
  t.expires_ms = (now_ms / 1000 + ttl_s) * 1000;
  return t;
}

Result<AssetTicket> AssetService::CreateUpload(store::KvTxn& txn, uint64_t user, uint32_t device, uint64_t asset_id,
                                               uint64_t size, const std::string& mime, const std::string& sha256,
                                               uint64_t now_ms) {
  if (size == 0 || size > settings_.max_bytes)
    return Status(Code::kInvalidArgument, "asset size must be 1.." + std::to_string(settings_.max_bytes));
  if (mime.empty() || mime.size() > kMaxMime) return Status(Code::kInvalidArgument, "mime must be 1..127 bytes");
  if (sha256.size() != 32) return Status(Code::kInvalidArgument, "sha256 must be 32 bytes");
  if (asset_id == 0) return Status(Code::kInvalidArgument, "asset id 0");
  store::Assets assets(txn);
  auto existing = assets.Get(asset_id);
  if (!existing.ok()) return existing.status();
  if (existing.value()) return Status(Code::kInvalidArgument, "asset id taken");
  store::AssetRecord rec;
  rec.asset_id = asset_id;
  rec.owner_user = user;
  rec.owner_device = device;
  rec.size = size;
  rec.mime = mime;
  rec.sha256 = sha256;
  rec.created_ms = now_ms;
  TERN_RETURN_IF_ERROR(assets.Put(rec));
  AssetTicket t = Sign("PUT", asset_id, now_ms, settings_.upload_url_ttl_s, {{"x-amz-checksum-sha256", Base64(sha256)}});
  t.size = size;
  t.mime = mime;
  t.sha256 = sha256;
  return t;
}

Result<AssetTicket> AssetService::RenewUpload(store::KvTxn& txn, uint64_t user, uint64_t asset_id, uint64_t size,
                                              const std::string& sha256, uint64_t now_ms) {
  auto rec = store::Assets(txn).Get(asset_id);
  if (!rec.ok()) return rec.status();
  if (!rec.value()) return Status(Code::kNotFound, "no such asset");
  const store::AssetRecord& a = *rec.value();
  if (a.owner_user != user) return Status(Code::kForbidden, "not your upload");
  if (a.size != size || a.sha256 != sha256) return Status(Code::kInvalidArgument, "size or sha256 differ from the upload");
  AssetTicket t = Sign("PUT", asset_id, now_ms, settings_.upload_url_ttl_s, {{"x-amz-checksum-sha256", Base64(sha256)}});
  t.size = a.size;
  t.mime = a.mime;
  t.sha256 = a.sha256;
  return t;
}

Result<bool> AssetService::MayRead(store::KvTxn& txn, uint64_t user, uint64_t asset_id, uint64_t owner) {
  if (user == owner) return true;
  bool allowed = false;
  Status inner = Status::Ok();
  TERN_RETURN_IF_ERROR(store::Assets(txn).ForEachRef(asset_id, [&](std::string_view chat) {
    auto m = IsMember(txn, user, chat);
    if (!m.ok()) {
      inner = m.status();
      return false;
    }
    allowed = *m;
    return !allowed;
  }));
  if (!inner.ok()) return inner;
  return allowed;
}

Result<AssetTicket> AssetService::CreateDownload(store::KvTxn& txn, uint64_t user, uint64_t asset_id,
                                                 uint64_t now_ms) {
  auto rec = store::Assets(txn).Get(asset_id);
  if (!rec.ok()) return rec.status();
  if (!rec.value()) return Status(Code::kNotFound, "no such asset");
  auto ok = MayRead(txn, user, asset_id, rec.value()->owner_user);
  if (!ok.ok()) return ok.status();
  if (!*ok) return Status(Code::kForbidden, "not the uploader nor a member of a chat the asset was sent in");
  AssetTicket t = Sign("GET", asset_id, now_ms, settings_.download_url_ttl_s, {});
  t.size = rec.value()->size;
  t.mime = rec.value()->mime;
  t.sha256 = rec.value()->sha256;
  return t;
}

Status AssetService::CheckAttach(store::KvTxn& txn, uint64_t user, uint64_t asset_id, uint64_t size,
                                 const std::string& sha256) {
  auto rec = store::Assets(txn).Get(asset_id);
  if (!rec.ok()) return rec.status();
  if (!rec.value()) return Status(Code::kNotFound, "no such asset");
  if (rec.value()->size != size || rec.value()->sha256 != sha256)
    return Status(Code::kInvalidArgument, "asset reference does not match the upload (size or sha256)");
  auto ok = MayRead(txn, user, asset_id, rec.value()->owner_user);
  if (!ok.ok()) return ok.status();
  if (!*ok) return Status(Code::kForbidden, "cannot send an asset you may not read");
  return Status::Ok();
}

Status AssetService::Attach(store::KvTxn& txn, uint64_t user, uint64_t asset_id, const store::ChatKey& chat,
                            uint64_t now_ms) {
  store::Assets assets(txn);
  auto rec = assets.Get(asset_id);
  if (!rec.ok()) return rec.status();
  if (!rec.value()) return Status(Code::kNotFound, "no such asset");
  auto ok = MayRead(txn, user, asset_id, rec.value()->owner_user);
  if (!ok.ok()) return ok.status();
  if (!*ok) return Status(Code::kForbidden, "cannot send an asset you may not read");
  if (rec.value()->first_ref_ms == 0) {
    rec.value()->first_ref_ms = now_ms;
    TERN_RETURN_IF_ERROR(assets.Put(*rec.value()));
  }
  return assets.AddRef(asset_id, chat.Encode());
}

Result<std::vector<std::string>> AssetService::Sweep(store::KvTxn& txn, uint64_t now_ms, uint32_t budget) {
  std::vector<uint64_t> doomed;
  uint32_t seen = 0;
  bool reached_end = true;
  store::Assets assets(txn);
  TERN_RETURN_IF_ERROR(assets.Scan(sweep_cursor_, [&](const store::AssetRecord& a) {
    if (seen++ >= budget) {
      sweep_cursor_ = a.asset_id;
      reached_end = false;
      return false;
    }
    const bool unreferenced = a.first_ref_ms == 0 && now_ms >= a.created_ms + settings_.unreferenced_ttl_ms;
    const bool retired = now_ms >= a.created_ms + settings_.retention_ms;
    if (unreferenced || retired) doomed.push_back(a.asset_id);
    return true;
  }));
  if (reached_end) sweep_cursor_ = 0;
  std::vector<std::string> names;
  for (uint64_t id : doomed) {
    TERN_RETURN_IF_ERROR(assets.Delete(id));
    names.push_back(endpoint_.bucket + "/" + ObjectKey(id));
  }
  return names;
}

void AssetService::RemoveObjects(const std::vector<std::string>& names) {
  if (remover_ == nullptr) return;
  for (const auto& name : names) {
    Status st = remover_->Remove(name);
    if (!st.ok()) Log(LogLevel::kWarn, "blob_remove_failed").Kv("object", name).Err(st);
  }
}

}  // namespace tern::server
