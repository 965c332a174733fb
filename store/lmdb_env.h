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
};

// Errors: kUnavailable (cannot create/open the directory or files), kCorrupt (not a Tern
// store, or an unknown schema version).
Result<std::unique_ptr<KvEnv>> OpenLmdbEnv(const LmdbOptions& options);

}  // namespace tern::store
