// Page counts of every table of an LMDB environment, read from outside the process that owns
// it, as `mdb_stat -a` does: a read-only environment handle and one read-only transaction. LMDB
// readers in other processes are safe while the owner writes; they hold a reader slot only for
// the call. bench/e2e_fanout.cc uses it on a running ternd's <data>/store to show what a queued
// group message costs, table by table.
//
// Thread safety: ReadStore may be called from any thread; StoreStat is a plain value.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "wire/status.h"

namespace tern::bench {

struct TableStat {
  uint64_t entries = 0;
  uint64_t pages = 0;     // branch + leaf + overflow pages of the table's B-tree
  uint64_t kv_bytes = 0;  // keys + values of every entry: the records without page overhead
};

struct StoreStat {
  uint64_t psize = 0;                       // page size in bytes
  std::map<std::string, TableStat> tables;  // by name; "(main)" is the table of table names
  uint64_t entries(const std::string& t) const {
    auto it = tables.find(t);
    return it == tables.end() ? 0 : it->second.entries;
  }
};

// Every table of the environment in directory `dir` (scans each table once for kv_bytes).
// Errors: kUnavailable with LMDB's message (no environment there, cannot open or read it).
Result<StoreStat> ReadStore(const std::string& dir);

}  // namespace tern::bench
