// tern-admin's commands, as a library so main.cc stays a thin CLI11 shell and tests can see
// the contract. Each command works on a ternd data folder (the --data of ternd: the LMDB store
// is `<data>/store/`, the TLS material `<data>/tls/`), prints its result on `out` and returns
// the process exit code: 0 on success, 1 with one line "tern-admin: ..." on stderr otherwise.
//
// Which commands may run next to a live ternd:
//   inspect, stats, backup  read one LMDB snapshot (LMDB lets other processes read while ternd
//                           writes); they never block ternd's commits.
//   expire, restore         write: they take the data folder's lock (store/dir_lock.h) and
//                           refuse while ternd holds it; ternd refuses to start meanwhile.
// A folder without <data>/store/data.mdb, or whose LMDB has no Tern "schema" marker in its
// meta table, is refused as "not a Tern data folder".
//
// Thread safety: one call at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tern::admin {

// Users, devices, chats (direct / group), groups, messages, queued items, and the `top`
// deepest device queues (0 = all) with the age of each queue's oldest item at `now_ms`.
// Text, one "key value" line each; queue lines read `queue USER/DEVICE depth N oldest_age_s S`.
int Inspect(const std::string& data, size_t top, uint64_t now_ms, std::FILE* out);

// One JSON line: entries per table (by table name), map_bytes, used_bytes.
int Stats(const std::string& data, std::FILE* out);

// Writes a compacted copy of the store to `to`/store/data.mdb (mdb_env_copy2 + MDB_CP_COMPACT,
// one consistent snapshot, fsynced) and copies `<data>/tls/` (certificate, key, ticket keys: the
// backup is secret, mode 0700). `to` must not exist or be empty. The backup is itself shaped
// like a data folder: `tern-admin inspect` reads it, `tern-admin restore` brings it back.
int Backup(const std::string& data, const std::string& to, std::FILE* out);

// Restores a backup into `data`, which must be new or hold no store (never overwrites one) and
// must not be in use. The store is copied again through LMDB (which validates it) into a
// staging folder, then renamed into place; tls/ is copied unless `data` already has one.
int Restore(const std::string& from, const std::string& data, std::FILE* out);

// Runs the expiry sweep now (as ternd's sweeper does every expiry_interval_ms) at `now_ms`,
// `budget` messages per transaction, until nothing is due. Refuses while ternd runs.
int Expire(const std::string& data, uint64_t now_ms, size_t budget, std::FILE* out);

}  // namespace tern::admin
