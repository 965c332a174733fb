// Internal to store/: LMDB error mapping and small helpers shared by the LMDB backend.
// Not part of the KvEnv contract; nothing outside store/*.cc should include it.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <string_view>

#include "wire/status.h"

namespace tern::store {

// LMDB's compiled-in key limit (mdb_env_get_maxkeysize() of a default build).
constexpr size_t kMaxKeyBytes = 511;

inline MDB_val ToVal(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

// Keys LMDB cannot store are a caller error: kInvalidArgument.
Status CheckKey(std::string_view key);

// Maps an LMDB return code (non-zero) from `op` to a Status:
// MDB_MAP_FULL/MDB_TXN_FULL -> kNoSpace; MDB_CORRUPTED/PAGE_NOTFOUND/INVALID/VERSION_MISMATCH/
// INCOMPATIBLE -> kCorrupt; MDB_BAD_VALSIZE -> kInvalidArgument; errno-style IO errors (EIO,
// ENOSPC, EACCES, ...) -> kUnavailable; anything else -> kInternal.
Status MdbStatus(int rc, const char* op);

// As MdbStatus for mdb_txn_commit, where every non-space failure means the disk did not take
// the write: kUnavailable (the env makes it sticky), except MDB_MAP_FULL -> kNoSpace.
Status CommitStatus(int rc);

struct MapUsage {
  uint64_t map = 0;   // current map size in bytes
  uint64_t used = 0;  // (last page number + 1) * page size
};
Status ReadMapUsage(MDB_env* env, MapUsage* out);

}  // namespace tern::store
