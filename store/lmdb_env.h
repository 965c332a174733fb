// LmdbEnv: the durable KvEnv, one LMDB environment with one named database per Table.
//
// Commits are synced (no MDB_NOSYNC): a Commit that returned ok is on disk. The map starts at
// `initial_map_bytes` and MaybeGrow() doubles it (up to `max_map_bytes`) whenever usage passes
// `grow_at_fraction`, so normal use never sees MDB_MAP_FULL; if a txn still hits it, the call
// returns kNoSpace, the txn must be aborted, and the next MaybeGrow() grows the map.
// The directory is created if missing. A "schema" key in kMeta identifies a Tern store: opening
// a directory holding some other LMDB database fails with kCorrupt.
//
// Thread safety: the env may be shared across threads; each txn stays on its thread.
#pragma once

#include <memory>
#include <string>

#include "store/kv.h"

namespace tern::store {

struct LmdbOptions {
  std::string dir;                              // directory holding data.mdb / lock.mdb
  uint64_t initial_map_bytes = 64ull << 20;     // store_initial_map_mb
  uint64_t max_map_bytes = 1ull << 40;          // store_max_map_mb
  double grow_at_fraction = 0.5;                // grow when used/map_size exceeds this
  unsigned max_readers = 126;
  // Open an existing store without writing to it (tern-admin inspect/backup, also while ternd
  // runs: LMDB allows concurrent readers in other processes). Begin(true) is then refused.
  bool read_only = false;
  // Refuse (kNotFound) instead of creating a store when `dir` holds no data.mdb.
  bool must_exist = false;
};

// Errors: kUnavailable (cannot create/open the directory or files), kCorrupt (not a Tern
// store, or an unknown schema version), kNotFound (must_exist and no data.mdb; read_only and a
// table missing: a store last written by an older ternd).
Result<std::unique_ptr<KvEnv>> OpenLmdbEnv(const LmdbOptions& options);

// Writes a compacted copy of `env` (which must come from OpenLmdbEnv) as `dest_dir`/data.mdb,
// from one read snapshot (mdb_env_copy2 with MDB_CP_COMPACT: free pages are left out), and
// fsyncs it. Safe while another process writes the store. `dest_dir` must exist and hold no
// data.mdb. Errors: kInvalidArgument (not an LMDB env), kUnavailable (IO), engine errors.
Status CopyLmdbEnvCompact(KvEnv& env, const std::string& dest_dir);

}  // namespace tern::store
