// Asset transfers with the asset service's tickets (wire/PROTOCOL.md §5) and the blob client
// (tools/client/blob_client.h), retried after drops. Shared by `tern send-file` / `tern
// download` (tools/tern_media.cc) and history backups (tools/client/history_backup.h).
//
// Upload: a ticket for the file's size, mime and SHA-256, then the bytes, resumed on the same
// asset after a drop (up to `retries` more attempts). Across runs, `upload_state` remembers the
// unfinished asset ("asset_id size sha256_hex path"): the same file continues that asset with a
// renewed ticket (GetUploadTicket{asset_id}) instead of starting over.
// Download: a fresh ticket per attempt (URLs expire), then the bytes into dest (via dest.part,
// resumed), size and SHA-256 checked against the ticket.
//
// The upload is also available in two steps, so an app can move the bytes off its UI thread:
// PrepareUpload (ticket, on the Client's thread) then TransferUpload (no Client: any thread);
// likewise TransferDownload moves the bytes of a download ticket without the Client.
//
// Thread safety: one call at a time per Client; TransferUpload/TransferDownload touch only
// files and their own HTTP connections.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "tools/client/blob_client.h"
#include "tools/client/client.h"

namespace tern::tools {

struct TransferOptions {
  int retries = 5;               // attempts after a dropped transfer
  uint64_t cut_after_bytes = 0;  // testing: drop the first attempt after this many bytes
  std::string upload_state;      // upload: where an unfinished asset is remembered ("" = nowhere)
  // Told when a drop is retried ("upload interrupted (...); resuming") or an upload resumes.
  std::function<void(const std::string&)> note;
};

// Uploads `file` as `mime`; returns the reference to send (asset id, size, mime, sha256; the
// caller adds name, dimensions, thumbnail). The upload state is cleared by the caller once the
// reference is sent (ClearUploadState). Errors: kNotFound (file), the ticket's status,
// UploadFile's errors after the retries.
Result<wire::AssetRef> UploadAsset(Client& c, const std::string& file, const std::string& mime,
                                   const TransferOptions& t, const BlobOptions& blob);
void ClearUploadState(const TransferOptions& t);

// UploadAsset in two steps. PrepareUpload hashes the file and gets its ticket (renewing the one
// recorded in upload_state for the same file) and records it. Errors: kNotFound (file), the
// ticket's status.
struct PreparedUpload {
  wire::AssetTicket ticket;
  wire::AssetRef ref;  // asset id, size, mime, sha256 (the caller adds the name, ...)
  std::string file;
};
Result<PreparedUpload> PrepareUpload(Client& c, const std::string& file, const std::string& mime,
                                     const TransferOptions& t);
// Moves the bytes, resuming after drops. Errors: UploadFile's after the retries.
Status TransferUpload(const PreparedUpload& up, const TransferOptions& t, const BlobOptions& blob);
// Moves the bytes of a download ticket into `dest`, retrying the same URL after drops (get a
// new ticket if it expired). Errors: DownloadFile's after the retries.
Status TransferDownload(const wire::AssetTicket& ticket, const std::string& dest, const TransferOptions& t,
                        const BlobOptions& blob);

// Downloads asset `asset_id` into `dest`; returns its (last) ticket (size, mime, sha256).
// Errors: the ticket's status (kForbidden, kNotFound), DownloadFile's after the retries.
Result<wire::AssetTicket> DownloadAsset(Client& c, uint64_t asset_id, const std::string& dest,
                                        const TransferOptions& t, const BlobOptions& blob);

}  // namespace tern::tools
