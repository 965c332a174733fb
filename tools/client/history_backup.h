// History backup and restore through the asset service and the blob store.
//
// Backup: History::Export, sealed with the passphrase (tools/client/backup_crypto.h: Argon2id +
// XChaCha20-Poly1305 secretstream), written to a work file (mode 0600), uploaded like any
// media (tools/client/asset_transfer.h: resumable, progress) as mime
// "application/x-tern-backup", then referenced in a message to my own user (the "note to
// self" chat) and the work file removed. Why the message: the asset service deletes an asset
// that no message references within its unreferenced TTL (24 h by default); once referenced it
// lives for the server's asset retention (30 days by default), and my other devices get the
// reference in their histories. Download rights need no change: the asset service lets the
// uploading *user* (any of their devices) fetch their own assets.
//
// Restore: a download ticket for the asset (same user: allowed), the container downloaded to a
// work file and checked against the ticket's SHA-256, decrypted and verified in memory, then
// merged in one history write (History::Import: idempotent, all or nothing). A wrong
// passphrase or damaged data changes nothing.
//
// The plaintext and the container are held in memory (a history of a few hundred MB needs that
// much RAM); the passphrase protects everything in the export (see backup_crypto.h).
//
// Thread safety: one call at a time per Client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tools/client/asset_transfer.h"
#include "tools/client/backup_crypto.h"
#include "tools/client/client.h"
#include "tools/client/history.h"

namespace tern::tools {

inline constexpr std::string_view kBackupMime = "application/x-tern-backup";

struct BackupOptions {
  BackupKdf kdf;              // Argon2id cost (Moderate by default)
  std::string work_path;      // the encrypted container while it moves (required)
  TransferOptions transfer;   // retries, notes
  BlobOptions blob;           // TLS, timeouts, progress
  int ack_timeout_ms = 10000; // for the note-to-self message
};

struct BackupResult {
  uint64_t asset_id = 0;
  uint64_t bytes = 0;         // container size
  HistoryStats stats;         // what was exported
};

// Needs an authenticated client with a history. Errors: kInvalidArgument (no history, empty
// passphrase), the export's, encryption's, the upload's, the message's (SendAck refusal code).
Result<BackupResult> BackupHistory(Client& c, std::string_view passphrase, const BackupOptions& o);

struct RestoreResult {
  History::ImportResult imported;
  uint64_t bytes = 0;
};

// Errors: kInvalidArgument (no history; the backup belongs to another user), the download's
// (kForbidden, kNotFound, kCorrupt on a SHA-256 mismatch), DecryptBackup's (kBadCredentials,
// kCorrupt), History::Import's.
Result<RestoreResult> RestoreHistory(Client& c, uint64_t asset_id, std::string_view passphrase, const BackupOptions& o);

}  // namespace tern::tools
