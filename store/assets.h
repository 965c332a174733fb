// Assets: the asset service's records (media uploaded to blob storage) over a KvTxn.
//
// Layout:
//   kAssets     BE64 asset_id -> AssetRecord (version 1: asset_id, owner_user, owner_device,
//               size, mime, sha256 (32 raw bytes), created_ms, first_ref_ms)
//   kAssetRefs  BE64 asset_id | encoded ChatKey -> ""  (the chats the asset was sent in; a
//               download is allowed to members of any of them)
// The refs are written in the same transaction as the message that carries the asset, so a
// recipient can fetch an asset exactly when it can see the message.
//
// Thread safety: as the KvTxn it wraps.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "store/kv.h"

namespace tern::store {

struct AssetRecord {
  uint64_t asset_id = 0;
  uint64_t owner_user = 0;
  uint32_t owner_device = 0;
  uint64_t size = 0;
  std::string mime;
  std::string sha256;         // 32 raw bytes
  uint64_t created_ms = 0;
  uint64_t first_ref_ms = 0;  // when it was first sent in a message (0 = never yet)
  bool operator==(const AssetRecord&) const = default;
};

class Assets {
 public:
  explicit Assets(KvTxn& txn) : txn_(txn) {}

  // Errors: kCorrupt (undecodable record), engine errors.
  Result<std::optional<AssetRecord>> Get(uint64_t asset_id);
  // Creates or replaces. Errors: engine errors.
  Status Put(const AssetRecord& a);
  // Removes the record and every ref. Errors: engine errors.
  Status Delete(uint64_t asset_id);

  // Records that the asset was sent in the chat `chat_key` (ChatKey::Encode()). Idempotent.
  Status AddRef(uint64_t asset_id, std::string_view chat_key);
  // Visits the encoded chat keys the asset was sent in until `fn` returns false.
  Status ForEachRef(uint64_t asset_id, const std::function<bool(std::string_view chat_key)>& fn);

  // Visits records with asset_id >= `start` in ascending order until `fn` returns false (the
  // expiry sweep's incremental scan). `fn` must not modify kAssets.
  Status Scan(uint64_t start, const std::function<bool(const AssetRecord&)>& fn);

 private:
  KvTxn& txn_;
};

// Decodes one kAssets value. Errors: kCorrupt.
Result<AssetRecord> DecodeAssetRecord(std::string_view value);

}  // namespace tern::store
