// MemEnv: an in-memory KvEnv for unit tests. Same semantics as LmdbEnv (sorted tables,
// snapshot reads, atomic commit, abort discards), nothing touches disk.
//
// Thread safety: like LmdbEnv (one write txn at a time), guarded by a mutex.
#pragma once

#include <memory>

#include "store/kv.h"

namespace tern::store {

std::unique_ptr<KvEnv> NewMemEnv();

}  // namespace tern::store
