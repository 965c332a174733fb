#include "bench/lmdb_pages.h"

#include <lmdb.h>

#include <memory>
#include <string>
#include <vector>

namespace tern::bench {

namespace {

Status Mdb(int rc, const char* what) {
  return Status(Code::kUnavailable, std::string(what) + ": " + mdb_strerror(rc));
}

Result<TableStat> ReadTable(MDB_txn* txn, MDB_dbi dbi) {
  MDB_stat st;
  if (int rc = mdb_stat(txn, dbi, &st); rc != 0) return Mdb(rc, "mdb_stat");
  TableStat t;
  t.entries = st.ms_entries;
  t.pages = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(txn, dbi, &cur); rc != 0) return Mdb(rc, "mdb_cursor_open");
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    t.kv_bytes += k.mv_size + v.mv_size;
  }
  mdb_cursor_close(cur);
  return t;
}

}  // namespace

Result<StoreStat> ReadStore(const std::string& dir) {
  MDB_env* env = nullptr;
  if (int rc = mdb_env_create(&env); rc != 0) return Mdb(rc, "mdb_env_create");
  std::unique_ptr<MDB_env, void (*)(MDB_env*)> env_closer(env, mdb_env_close);
  mdb_env_set_maxdbs(env, 128);
  if (int rc = mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0644); rc != 0) {
    return Mdb(rc, "mdb_env_open");
  }
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn); rc != 0) {
    return Mdb(rc, "mdb_txn_begin");
  }
  std::unique_ptr<MDB_txn, void (*)(MDB_txn*)> txn_closer(txn, mdb_txn_abort);
  MDB_dbi main_dbi;
  if (int rc = mdb_dbi_open(txn, nullptr, 0, &main_dbi); rc != 0) return Mdb(rc, "mdb_dbi_open");
  StoreStat s;
  MDB_stat st;
  if (int rc = mdb_stat(txn, main_dbi, &st); rc != 0) return Mdb(rc, "mdb_stat");
  s.psize = st.ms_psize;
  Result<TableStat> main_table = ReadTable(txn, main_dbi);
  if (!main_table.ok()) return main_table.status();
  s.tables["(main)"] = *main_table;
  std::vector<std::string> names;
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(txn, main_dbi, &cur); rc != 0) return Mdb(rc, "mdb_cursor_open");
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    names.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
  }
  mdb_cursor_close(cur);
  for (const std::string& name : names) {
    MDB_dbi dbi;
    if (mdb_dbi_open(txn, name.c_str(), 0, &dbi) != 0) continue;  // a plain key, not a table
    Result<TableStat> t = ReadTable(txn, dbi);
    if (!t.ok()) return t.status();
    s.tables[name] = *t;
  }
  return s;
}

}  // namespace tern::bench
