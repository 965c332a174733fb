// LmdbHistoryKv: the on-disk HistoryKv (tools/client/history_kv.h), one LMDB environment in
// its own directory (data.mdb + lock.mdb), one unnamed database. Linked straight against
// liblmdb: the client SDK never links the server's store/ (CONVENTIONS rule 3).
//
// Durability: commits are synced (no MDB_NOSYNC), so an item recorded before its InboxAck is
// on disk when the server deletes it.
//
// Map size (the same policy as store/lmdb_env.h): the map starts at initial_map_bytes; before
// each write, if the used pages pass grow_at_fraction of the map, it doubles (up to
// max_map_bytes). A write that still hits MDB_MAP_FULL is aborted, the map doubles and the
// write runs again, so callers only see kNoSpace once max_map_bytes is really reached. Another
// process that grew the map (MDB_MAP_RESIZED) is followed.
//
// Opening refuses what is not a history directory: `dir` must be missing (created), empty, or
// hold a data.mdb; a non-empty directory without data.mdb, or a file that is not LMDB, is
// kInvalidArgument / kCorrupt. (Whether the database is a Tern history is checked one level
// up, by History's meta record.)
//
// Thread safety: one owner (see HistoryKv). Several processes may open the same directory
// (LMDB's own locking); writes then serialize.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tools/client/history_kv.h"

namespace tern::tools {

struct LmdbHistoryOptions {
  uint64_t initial_map_bytes = 4ull << 20;   // kHistoryInitialMapBytes
  uint64_t max_map_bytes = 16ull << 30;      // a phone's history: bounded at 16 GiB
  double grow_at_fraction = 0.5;
};

// Errors: kUnavailable (cannot create/open), kInvalidArgument (not a history directory),
// kCorrupt (data.mdb is not an LMDB file).
Result<std::unique_ptr<HistoryKv>> OpenLmdbHistoryKv(const std::string& dir, const LmdbHistoryOptions& options);

}  // namespace tern::tools
