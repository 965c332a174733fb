// AssetService: media metadata, upload/download tickets and expiry — the only part of ternd that
// knows where media bytes live. Chat logic calls it with ids and user ids; it answers with
// presigned URLs (AWS SigV4 query authentication, server/blob/sigv4.h) for whatever
// S3-compatible endpoint it was built with: the built-in blob store (server/uv_blob_server.h)
// or an external one (Config::s3_*). No IO of its own: store transactions and `now` come in.
//
// Rules (wire/PROTOCOL.md §5):
//  * Upload ticket: the client states size (1..max_bytes), mime (1..127 bytes) and SHA-256;
//    the asset gets a fresh random id and the object key "a/<16 hex digits>"; the URL is a PUT
//    bound to that key with the SHA-256 signed in as the x-amz-checksum-sha256 header, so the
//    store refuses any other content (the built-in store and S3 both check it before the
//    object becomes readable).
//  * Download ticket: a presigned GET, only for the uploader or a member (now) of a chat in
//    which the asset was sent (kAssetRefs, written by Attach in the send's transaction).
//  * Attach: a message may carry an asset only if its sender may download it (uploader, or
//    forwarding something it received).
//  * Expiry (Sweep): an asset never attached within unreferenced_ttl_ms of its ticket, and
//    every asset retention_ms after its ticket, loses its record and its object.
//
// Thread safety: the loop thread (immutable settings; the sweep cursor is mutable).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/blob/sigv4.h"
#include "store/kv.h"
#include "store/mailbox.h"

namespace tern::server {

struct AssetSettings {
  uint64_t max_bytes = 64ull << 20;
  uint32_t upload_url_ttl_s = 900;
  uint32_t download_url_ttl_s = 900;
  uint64_t unreferenced_ttl_ms = 24ull * 3600 * 1000;
  uint64_t retention_ms = 30ull * 24 * 3600 * 1000;
};

// Where objects live, as clients reach it.
struct BlobEndpoint {
  std::string base_url;       // "scheme://host[:port]", no trailing slash
  std::string bucket;
  bool virtual_host = false;  // "scheme://bucket.host/key" instead of "scheme://host/bucket/key"
  blob::Credentials credentials;
};

// Deletes objects (the built-in store: files; an external store: nothing, see README).
class BlobRemover {
 public:
  virtual ~BlobRemover() = default;
  // `name` is "bucket/key". Absent is ok. Errors: kUnavailable.
  virtual Status Remove(std::string_view name) = 0;
};

struct AssetTicket {
  uint64_t asset_id = 0;
  std::string method;       // "PUT" or "GET"
  std::string url;
  blob::Headers headers;    // to send with the request, verbatim (signed)
  uint64_t expires_ms = 0;  // the URL stops working then (ask for a new ticket)
  uint64_t size = 0;
  std::string mime;
  std::string sha256;       // 32 raw bytes
};

class AssetService {
 public:
  // `remover` may be null (objects are then left to the store's own lifecycle rules).
  AssetService(AssetSettings settings, BlobEndpoint endpoint, BlobRemover* remover);

  // Creates the record of asset `asset_id` (random, from the caller's entropy) and its PUT
  // ticket. Errors: kInvalidArgument (size 0 or over max_bytes, empty/overlong mime, sha256
  // not 32 bytes, id 0 or taken), engine errors.
  Result<AssetTicket> CreateUpload(store::KvTxn& txn, uint64_t user, uint32_t device, uint64_t asset_id,
                                   uint64_t size, const std::string& mime, const std::string& sha256,
                                   uint64_t now_ms);
  // A fresh PUT ticket for an existing upload of `user` (to resume it after the first URL
  // expired); `size` and `sha256` must match the record. Errors: kNotFound, kForbidden (not
  // the uploader), kInvalidArgument (mismatch), engine errors.
  Result<AssetTicket> RenewUpload(store::KvTxn& txn, uint64_t user, uint64_t asset_id, uint64_t size,
                                  const std::string& sha256, uint64_t now_ms);
  // A GET ticket. Errors: kNotFound (no such asset, or expired), kForbidden (neither the
  // uploader nor a member of a chat it was sent in), engine errors.
  Result<AssetTicket> CreateDownload(store::KvTxn& txn, uint64_t user, uint64_t asset_id, uint64_t now_ms);
  // Whether `user` may send `asset_id` in a message that describes it with `size` and
  // `sha256` (they must match the record). Errors: kNotFound, kForbidden, kInvalidArgument,
  // engine errors.
  Status CheckAttach(store::KvTxn& txn, uint64_t user, uint64_t asset_id, uint64_t size, const std::string& sha256);
  // Checks that `user` may send `asset_id` and records (asset, chat). Errors: kNotFound,
  // kForbidden, engine errors.
  Status Attach(store::KvTxn& txn, uint64_t user, uint64_t asset_id, const store::ChatKey& chat, uint64_t now_ms);
  // Deletes the records of expired assets among the next `budget`, resuming where the last
  // sweep stopped, and returns their object names. Call RemoveObjects with them once `txn` has
  // committed (an object never goes while its record may still be there). Errors: engine
  // errors.
  Result<std::vector<std::string>> Sweep(store::KvTxn& txn, uint64_t now_ms, uint32_t budget);
  // Removes objects through the remover (failures are logged: the record is already gone, so
  // the object is unreachable; the store's lifecycle rule or an operator cleans it).
  void RemoveObjects(const std::vector<std::string>& names);

  // "a/<16 lower-case hex digits>".
  static std::string ObjectKey(uint64_t asset_id);
  const BlobEndpoint& endpoint() const { return endpoint_; }

 private:
  // The uploader, or a current member of a chat the asset was sent in.
  Result<bool> MayRead(store::KvTxn& txn, uint64_t user, uint64_t asset_id, uint64_t owner);
  AssetTicket Sign(const char* method, uint64_t asset_id, uint64_t now_ms, uint32_t ttl_s,
                   const blob::Headers& extra) const;

  AssetSettings settings_;
  BlobEndpoint endpoint_;
  BlobRemover* remover_;
  uint64_t sweep_cursor_ = 0;
};

}  // namespace tern::server
