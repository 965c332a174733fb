#include "tools/client/lmdb_history_kv.h"

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace tern::tools {
namespace {

Status MdbError(int rc, const char* what) {
  Code code = rc == MDB_MAP_FULL ? Code::kNoSpace
              : (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH) ? Code::kCorrupt
              : rc == ENOSPC ? Code::kNoSpace
                             : Code::kUnavailable;
  return Status(code, std::string(what) + ": " + mdb_strerror(rc));
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

int MakeDirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return errno;
  }
  return 0;
}

// Ok, or why `dir` cannot be a history directory (created when missing).
Status CheckDir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    int err = MakeDirs(dir);
    if (err != 0) return Status(Code::kUnavailable, "cannot create " + dir + ": " + std::strerror(err));
    return Status::Ok();
  }
  if (!S_ISDIR(st.st_mode)) return Status(Code::kInvalidArgument, dir + " is not a directory (not a Tern history)");
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status(Code::kUnavailable, "cannot read " + dir + ": " + std::strerror(errno));
  bool has_data = false, has_other = false;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (name == "data.mdb") has_data = true;
    else if (name != "lock.mdb") has_other = true;
  }
  ::closedir(d);
  if (!has_data && has_other)
    return Status(Code::kInvalidArgument, dir + " holds other files and no data.mdb: not a Tern history directory");
  return Status::Ok();
}

class LmdbTxn : public HistoryTxn {
 public:
  LmdbTxn(MDB_txn* txn, MDB_dbi dbi, bool write) : txn_(txn), dbi_(dbi), write_(write) {}
  Result<std::optional<std::string>> Get(std::string_view key) override {
    MDB_val k = Val(key), v;
    int rc = mdb_get(txn_, dbi_, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string>();
    if (rc != 0) return Track(rc, "mdb_get");
    return std::optional<std::string>(std::string(View(v)));
  }
  Status Put(std::string_view key, std::string_view value) override {
    if (!write_) return Status(Code::kInternal, "write in a read txn");
    MDB_val k = Val(key), v = Val(value);
    int rc = mdb_put(txn_, dbi_, &k, &v, 0);
    return rc == 0 ? Status::Ok() : Track(rc, "mdb_put");
  }
  Status Del(std::string_view key) override {
    if (!write_) return Status(Code::kInternal, "write in a read txn");
    MDB_val k = Val(key);
    int rc = mdb_del(txn_, dbi_, &k, nullptr);
    return (rc == 0 || rc == MDB_NOTFOUND) ? Status::Ok() : Track(rc, "mdb_del");
  }
  Status Scan(std::string_view from, std::string_view to, bool reverse, const ScanFn& fn) override {
    MDB_cursor* cur = nullptr;
    int rc = mdb_cursor_open(txn_, dbi_, &cur);
    if (rc != 0) return Track(rc, "mdb_cursor_open");
    MDB_val k, v;
    auto in_range = [&](std::string_view key) {
      return key >= from && (to.empty() || key < to);
    };
    if (!reverse) {
      k = Val(from);
      rc = mdb_cursor_get(cur, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
      while (rc == 0 && in_range(View(k)) && fn(View(k), View(v))) rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    } else {
      if (to.empty()) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
      } else {
        k = Val(to);
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);  // first key >= to: step back once
        rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
             : rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST) : rc;
      }
      while (rc == 0 && in_range(View(k)) && fn(View(k), View(v))) rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    }
    mdb_cursor_close(cur);
    return (rc == 0 || rc == MDB_NOTFOUND) ? Status::Ok() : Track(rc, "mdb_cursor_get");
  }
  bool map_full() const { return map_full_; }

 private:
  Status Track(int rc, const char* what) {
    if (rc == MDB_MAP_FULL) map_full_ = true;
    return MdbError(rc, what);
  }
  MDB_txn* txn_;
  MDB_dbi dbi_;
  bool write_;
  bool map_full_ = false;
};

class LmdbKv : public HistoryKv {
 public:
  LmdbKv(MDB_env* env, MDB_dbi dbi, LmdbHistoryOptions o) : env_(env), dbi_(dbi), options_(o) {}
  ~LmdbKv() override { mdb_env_close(env_); }

  Status Read(const TxnFn& fn) override {
    MDB_txn* txn = nullptr;
    TERN_RETURN_IF_ERROR(Begin(MDB_RDONLY, &txn));
    LmdbTxn t(txn, dbi_, false);
    Status st = fn(t);
    mdb_txn_abort(txn);
    return st;
  }

  Status Write(const TxnFn& fn) override {
    TERN_RETURN_IF_ERROR(MaybeGrow());
    for (;;) {
      MDB_txn* txn = nullptr;
      TERN_RETURN_IF_ERROR(Begin(0, &txn));
      LmdbTxn t(txn, dbi_, true);
      Status st = fn(t);
      bool full = t.map_full();
      if (st.ok()) {
        int rc = mdb_txn_commit(txn);
        if (rc == 0) return Status::Ok();
        if (rc != MDB_MAP_FULL) return MdbError(rc, "mdb_txn_commit");
        full = true;
        st = MdbError(rc, "mdb_txn_commit");
      } else {
        mdb_txn_abort(txn);
      }
      if (!full) return st;
      Result<bool> grew = Grow();  // the txn is gone: the map may change; run fn again
      if (!grew.ok()) return grew.status();
      if (!*grew) return st;       // at max_map_bytes: really full
    }
  }

 private:
  Status Begin(unsigned flags, MDB_txn** txn) {
    int rc = mdb_txn_begin(env_, nullptr, flags, txn);
    if (rc == MDB_MAP_RESIZED) {  // another process grew the map: adopt its size
      mdb_env_set_mapsize(env_, 0);
      rc = mdb_txn_begin(env_, nullptr, flags, txn);
    }
    return rc == 0 ? Status::Ok() : MdbError(rc, "mdb_txn_begin");
  }
  Status Usage(uint64_t* map, uint64_t* used) {
    MDB_envinfo info;
    MDB_stat st;
    int rc = mdb_env_info(env_, &info);
    if (rc == 0) rc = mdb_env_stat(env_, &st);
    if (rc != 0) return MdbError(rc, "mdb_env_info");
    *map = info.me_mapsize;
    *used = (static_cast<uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
    return Status::Ok();
  }
  Status MaybeGrow() {
    uint64_t map = 0, used = 0;
    TERN_RETURN_IF_ERROR(Usage(&map, &used));
    if (map >= options_.max_map_bytes) return Status::Ok();
    if (static_cast<double>(used) <= static_cast<double>(map) * options_.grow_at_fraction) return Status::Ok();
    return Grow().status();
  }
  Result<bool> Grow() {
    uint64_t map = 0, used = 0;
    TERN_RETURN_IF_ERROR(Usage(&map, &used));
    if (map >= options_.max_map_bytes) return false;
    uint64_t next = std::min(map * 2, options_.max_map_bytes);
    int rc = mdb_env_set_mapsize(env_, next);
    if (rc != 0) return MdbError(rc, "mdb_env_set_mapsize");
    return true;
  }

  MDB_env* env_;
  MDB_dbi dbi_;
  LmdbHistoryOptions options_;
};

}  // namespace

Result<std::unique_ptr<HistoryKv>> OpenLmdbHistoryKv(const std::string& dir, const LmdbHistoryOptions& options) {
  TERN_RETURN_IF_ERROR(CheckDir(dir));
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return MdbError(rc, "mdb_env_create");
  auto fail = [&](int code, const char* what) -> Status {
    mdb_env_close(env);
    return MdbError(code, what);
  };
  if ((rc = mdb_env_set_mapsize(env, options.initial_map_bytes)) != 0) return fail(rc, "mdb_env_set_mapsize");
  // MDB_NOTLS: read txns are not tied to threads (the SDK's owner may move between threads).
  if ((rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0600)) != 0) return fail(rc, "mdb_env_open");
  // An existing, larger map: mdb_env_open adopted the file's size; keep that.
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env, nullptr, 0, &txn)) != 0) return fail(rc, "mdb_txn_begin");
  MDB_dbi dbi = 0;
  if ((rc = mdb_dbi_open(txn, nullptr, 0, &dbi)) != 0) {
    mdb_txn_abort(txn);
    return fail(rc, "mdb_dbi_open");
  }
  if ((rc = mdb_txn_commit(txn)) != 0) return fail(rc, "mdb_txn_commit");
  return std::unique_ptr<HistoryKv>(new LmdbKv(env, dbi, options));
}

}  // namespace tern::tools
