#include "store/assets.h"

#include <vector>

#include "store/codec.h"

namespace tern::store {
namespace {

constexpr uint8_t kVersion = 1;

std::string Key(uint64_t asset_id) { return codec::BE64(asset_id); }

}  // namespace

Result<AssetRecord> DecodeAssetRecord(std::string_view value) {
  codec::RecordReader r(value, "asset");
  r.Version(kVersion);
  AssetRecord a;
  a.asset_id = r.U64();
  a.owner_user = r.U64();
  a.owner_device = r.U32();
  a.size = r.U64();
  a.mime = r.Str();
  a.sha256 = r.Str();
  a.created_ms = r.U64();
  a.first_ref_ms = r.U64();
  TERN_RETURN_IF_ERROR(r.Finish());
  if (a.sha256.size() != 32) return Status(Code::kCorrupt, "asset: sha256 is not 32 bytes");
  return a;
}

Result<std::optional<AssetRecord>> Assets::Get(uint64_t asset_id) {
  auto raw = txn_.Get(Table::kAssets, Key(asset_id));
  if (!raw.ok()) return raw.status();
  if (!raw.value()) return std::optional<AssetRecord>();
  auto a = DecodeAssetRecord(*raw.value());
  if (!a.ok()) return a.status();
  if (a->asset_id != asset_id) return Status(Code::kCorrupt, "asset record under the wrong key");
  return std::optional<AssetRecord>(std::move(a).value());
}

Status Assets::Put(const AssetRecord& a) {
  codec::RecordWriter w(kVersion);
  w.U64(a.asset_id).U64(a.owner_user).U64(a.owner_device).U64(a.size).Str(a.mime).Str(a.sha256);
  w.U64(a.created_ms).U64(a.first_ref_ms);
  return txn_.Put(Table::kAssets, Key(a.asset_id), w.Finish());
}

Status Assets::Delete(uint64_t asset_id) {
  std::vector<std::string> refs;
  const std::string prefix = Key(asset_id);
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kAssetRefs, prefix, [&](std::string_view k, std::string_view) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    refs.emplace_back(k);
    return true;
  }));
  for (const auto& k : refs) TERN_RETURN_IF_ERROR(txn_.Del(Table::kAssetRefs, k));
  return txn_.Del(Table::kAssets, prefix);
}

Status Assets::AddRef(uint64_t asset_id, std::string_view chat_key) {
  return txn_.Put(Table::kAssetRefs, Key(asset_id) + std::string(chat_key), "");
}

Status Assets::ForEachRef(uint64_t asset_id, const std::function<bool(std::string_view chat_key)>& fn) {
  const std::string prefix = Key(asset_id);
  return txn_.Scan(Table::kAssetRefs, prefix, [&](std::string_view k, std::string_view) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    return fn(k.substr(prefix.size()));
  });
}

Status Assets::Scan(uint64_t start, const std::function<bool(const AssetRecord&)>& fn) {
  Status inner = Status::Ok();
  TERN_RETURN_IF_ERROR(txn_.Scan(Table::kAssets, Key(start), [&](std::string_view, std::string_view v) {
    auto a = DecodeAssetRecord(v);
    if (!a.ok()) {
      inner = a.status();
      return false;
    }
    return fn(*a);
  }));
  return inner;
}

}  // namespace tern::store
