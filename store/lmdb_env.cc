// LmdbEnv: one MDB_env, one named database per Table, opened once at start-up (LMDB wants
// mdb_dbi_open out of concurrent txns) and shared by every txn afterwards.
//
// Open txns are counted under `mu_` so MaybeGrow() can call mdb_env_set_mapsize, which LMDB
// only allows while this process has no txn open; Begin() takes the same mutex, so a txn cannot
// start while the map is being resized.
#include "store/lmdb_env.h"

#include <lmdb.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>

#include "store/lmdb_util.h"

namespace tern::store {
namespace {

constexpr size_t kTables = static_cast<size_t>(Table::kCount);
constexpr char kSchemaKey[] = "schema";
constexpr char kSchemaValue[] = "tern-store-1";

class LmdbTxn;

class LmdbEnv : public KvEnv {
 public:
  explicit LmdbEnv(const LmdbOptions& options) : options_(options) {}
  ~LmdbEnv() override {
    if (env_ != nullptr) mdb_env_close(env_);
  }

  Status Open();
  Result<std::unique_ptr<KvTxn>> Begin(bool write) override;
  Result<KvStats> Stats() override;
  Status MaybeGrow() override;

  // Called by a txn when it ends; `commit_error` is the engine error of a failed write commit.
  void EndTxn(bool write, const Status& commit_error);
  MDB_dbi dbi(Table t) const { return dbis_[static_cast<size_t>(t)]; }
  MDB_env* raw() const { return env_; }
  // A txn hit MDB_MAP_FULL: the next MaybeGrow() doubles the map even if the committed usage
  // (which the aborted txn never added to) is below the threshold.
  void NoteMapFull() {
    std::lock_guard<std::mutex> lock(mu_);
    map_full_ = true;
  }

 private:
  Status CheckSchema(MDB_txn* txn);

  const LmdbOptions options_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbis_[kTables] = {};

  std::mutex mu_;  // guards everything below
  int open_txns_ = 0;
  bool writer_open_ = false;
  bool map_full_ = false;
  Status sticky_;  // first failed commit: refuses later writes (CONVENTIONS rule 7)
};

class LmdbTxn : public KvTxn {
 public:
  LmdbTxn(LmdbEnv* env, MDB_txn* txn, bool write) : env_(env), txn_(txn), write_(write) {}
  ~LmdbTxn() override { Abort(); }

  Result<std::optional<std::string>> Get(Table t, std::string_view key) override {
    TERN_RETURN_IF_ERROR(Usable());
    if (key.empty() || key.size() > kMaxKeyBytes) return std::optional<std::string>();
    MDB_val k = ToVal(key), v;
    const int rc = mdb_get(txn_, env_->dbi(t), &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string>();
    if (rc != 0) return MdbStatus(rc, "mdb_get");
    return std::optional<std::string>(std::string(static_cast<const char*>(v.mv_data), v.mv_size));
  }

  Status Put(Table t, std::string_view key, std::string_view value) override {
    TERN_RETURN_IF_ERROR(Writable());
    TERN_RETURN_IF_ERROR(CheckKey(key));
    MDB_val k = ToVal(key), v = ToVal(value);
    return Track(mdb_put(txn_, env_->dbi(t), &k, &v, 0), "mdb_put");
  }

  Status Del(Table t, std::string_view key) override {
    TERN_RETURN_IF_ERROR(Writable());
    if (key.empty() || key.size() > kMaxKeyBytes) return Status::Ok();  // cannot exist
    MDB_val k = ToVal(key);
    const int rc = mdb_del(txn_, env_->dbi(t), &k, nullptr);
    return rc == MDB_NOTFOUND ? Status::Ok() : Track(rc, "mdb_del");
  }

  Status Scan(Table t, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& fn) override {
    TERN_RETURN_IF_ERROR(Usable());
    MDB_cursor* cur = nullptr;
    int rc = mdb_cursor_open(txn_, env_->dbi(t), &cur);
    if (rc != 0) return MdbStatus(rc, "mdb_cursor_open");
    MDB_val k = ToVal(start), v;
    rc = mdb_cursor_get(cur, &k, &v, start.empty() ? MDB_FIRST : MDB_SET_RANGE);
    while (rc == 0) {
      if (!fn(std::string_view(static_cast<const char*>(k.mv_data), k.mv_size),
              std::string_view(static_cast<const char*>(v.mv_data), v.mv_size))) {
        break;
      }
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return (rc == 0 || rc == MDB_NOTFOUND) ? Status::Ok() : MdbStatus(rc, "mdb_cursor_get");
  }

  Status Commit() override {
    TERN_RETURN_IF_ERROR(Usable());
    MDB_txn* txn = std::exchange(txn_, nullptr);
    if (!write_) {
      mdb_txn_abort(txn);  // a read txn has nothing to make durable
      env_->EndTxn(false, Status::Ok());
      return Status::Ok();
    }
    if (!failed_.ok()) {
      // LMDB has already poisoned this txn; nothing reached the disk, so the env stays usable.
      mdb_txn_abort(txn);
      env_->EndTxn(true, Status::Ok());
      return failed_;
    }
    const int rc = mdb_txn_commit(txn);  // frees the txn whatever the outcome
    if (rc == MDB_MAP_FULL) env_->NoteMapFull();
    Status s = rc == 0 ? Status::Ok() : CommitStatus(rc);
    env_->EndTxn(true, s);
    return s;
  }

  void Abort() override {
    if (txn_ == nullptr) return;
    mdb_txn_abort(std::exchange(txn_, nullptr));
    env_->EndTxn(write_, Status::Ok());
  }

  MDB_txn* raw() const { return txn_; }

 private:
  Status Usable() const {
    return txn_ != nullptr ? Status::Ok()
                           : Status(Code::kInvalidArgument, "transaction already ended");
  }
  Status Writable() const {
    TERN_RETURN_IF_ERROR(Usable());
    if (!write_) return Status(Code::kInvalidArgument, "write in a read-only transaction");
    return failed_;
  }
  // Remembers the first failed write: LMDB refuses every later op on the txn anyway.
  Status Track(int rc, const char* op) {
    if (rc == 0) return Status::Ok();
    if (rc == MDB_MAP_FULL) env_->NoteMapFull();
    failed_ = MdbStatus(rc, op);
    return failed_;
  }

  LmdbEnv* env_;
  MDB_txn* txn_;
  const bool write_;
  Status failed_;
};

Result<std::unique_ptr<KvTxn>> LmdbEnv::Begin(bool write) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (write) {
      if (options_.read_only) return Status(Code::kInvalidArgument, "store opened read-only");
      if (!sticky_.ok()) return sticky_;
      if (writer_open_) std::abort();  // one writer at a time (kv.h): a caller bug
      writer_open_ = true;
    }
    ++open_txns_;
  }
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, &txn);
  if (rc == MDB_MAP_RESIZED) {  // another process grew the map: adopt its size and retry
    std::lock_guard<std::mutex> lock(mu_);
    if (open_txns_ == 1) mdb_env_set_mapsize(env_, 0);
    rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, &txn);
  }
  if (rc != 0) {
    EndTxn(write, Status::Ok());
    return MdbStatus(rc, "mdb_txn_begin");
  }
  return std::unique_ptr<KvTxn>(new LmdbTxn(this, txn, write));
}

void LmdbEnv::EndTxn(bool write, const Status& commit_error) {
  std::lock_guard<std::mutex> lock(mu_);
  --open_txns_;
  if (!write) return;
  writer_open_ = false;
  // kNoSpace is not sticky: the map grows on the next MaybeGrow() and the caller retries.
  if (!commit_error.ok() && commit_error.code() != Code::kNoSpace && sticky_.ok()) {
    sticky_ = commit_error;
  }
}

Status LmdbEnv::MaybeGrow() {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_txns_ > 0) return Status::Ok();  // LMDB forbids resizing under an open txn
  MapUsage u;
  TERN_RETURN_IF_ERROR(ReadMapUsage(env_, &u));
  const auto threshold = [&](uint64_t map) {
    return static_cast<uint64_t>(static_cast<double>(map) * options_.grow_at_fraction);
  };
  const bool was_full = std::exchange(map_full_, false);
  if (u.map >= options_.max_map_bytes) return Status::Ok();
  if (!was_full && u.used <= threshold(u.map)) return Status::Ok();
  uint64_t next = std::min(u.map * 2, options_.max_map_bytes);
  while (u.used > threshold(next) && next < options_.max_map_bytes) {
    next = std::min(next * 2, options_.max_map_bytes);
  }
  const int rc = mdb_env_set_mapsize(env_, next);
  return rc == 0 ? Status::Ok() : MdbStatus(rc, "mdb_env_set_mapsize");
}

Result<KvStats> LmdbEnv::Stats() {
  auto txn = Begin(false);
  if (!txn.ok()) return txn.status();
  auto* lt = static_cast<LmdbTxn*>(txn.value().get());
  KvStats s;
  for (size_t i = 0; i < kTables; ++i) {
    MDB_stat st;
    const int rc = mdb_stat(lt->raw(), dbis_[i], &st);
    if (rc != 0) return MdbStatus(rc, "mdb_stat");
    s.entries[i] = st.ms_entries;
  }
  txn.value()->Abort();
  MapUsage u;
  TERN_RETURN_IF_ERROR(ReadMapUsage(env_, &u));
  s.map_size = u.map;
  s.used_bytes = u.used;
  return s;
}

Status LmdbEnv::Open() {
  std::error_code ec;
  if (options_.must_exist || options_.read_only) {
    if (!std::filesystem::is_regular_file(options_.dir + "/data.mdb", ec))
      return Status(Code::kNotFound, options_.dir + ": no data.mdb (not a Tern store)");
  }
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return Status(Code::kUnavailable, "create " + options_.dir + ": " + ec.message());
  int rc = mdb_env_create(&env_);
  if (rc != 0) return MdbStatus(rc, "mdb_env_create");
  if ((rc = mdb_env_set_maxdbs(env_, kTables)) != 0) return MdbStatus(rc, "mdb_env_set_maxdbs");
  if ((rc = mdb_env_set_maxreaders(env_, options_.max_readers)) != 0) {
    return MdbStatus(rc, "mdb_env_set_maxreaders");
  }
  // An existing file larger than this keeps its size (LMDB takes the larger of the two).
  if ((rc = mdb_env_set_mapsize(env_, options_.initial_map_bytes)) != 0) {
    return MdbStatus(rc, "mdb_env_set_mapsize");
  }
  // MDB_NOTLS: txns are tied to our objects, not to reader slots per thread. No MDB_NOSYNC:
  // every commit is fsync'd before it returns (DESIGN §1 "sent").
  const unsigned flags = MDB_NOTLS | (options_.read_only ? MDB_RDONLY : 0);
  if ((rc = mdb_env_open(env_, options_.dir.c_str(), flags, 0644)) != 0) {
    Status s = MdbStatus(rc, "mdb_env_open");
    return Status(s.code() == Code::kCorrupt ? Code::kCorrupt : Code::kUnavailable,
                  options_.dir + ": " + s.message());
  }
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env_, nullptr, options_.read_only ? MDB_RDONLY : 0, &txn)) != 0)
    return MdbStatus(rc, "mdb_txn_begin");
  Status s = CheckSchema(txn);
  if (!s.ok()) {
    mdb_txn_abort(txn);
    return s;
  }
  if ((rc = mdb_txn_commit(txn)) != 0) return CommitStatus(rc);
  return Status::Ok();
}

// Decides, inside the opening write txn, whether the directory is a Tern store, a fresh LMDB
// (then creates it) or something else (kCorrupt). Opens every table's handle on success.
Status LmdbEnv::CheckSchema(MDB_txn* txn) {
  MDB_dbi main_dbi;
  int rc = mdb_dbi_open(txn, nullptr, 0, &main_dbi);
  if (rc != 0) return MdbStatus(rc, "mdb_dbi_open(main)");
  MDB_stat main_stat;
  if ((rc = mdb_stat(txn, main_dbi, &main_stat)) != 0) return MdbStatus(rc, "mdb_stat(main)");
  const Status foreign(Code::kCorrupt, options_.dir + ": not a Tern store");

  MDB_dbi meta;
  rc = mdb_dbi_open(txn, TableName(Table::kMeta), 0, &meta);
  if (rc == MDB_INCOMPATIBLE) return foreign;  // "meta" is a plain key of someone else's DB
  if (rc != 0 && rc != MDB_NOTFOUND) return MdbStatus(rc, "mdb_dbi_open(meta)");
  bool fresh = false;
  if (rc == MDB_NOTFOUND) {
    // No meta table: only an empty environment may become a Tern store.
    if (main_stat.ms_entries != 0 || options_.read_only) return foreign;
    fresh = true;
  } else {
    MDB_val k = ToVal(kSchemaKey), v;
    rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND) return foreign;
    if (rc != 0) return MdbStatus(rc, "mdb_get(schema)");
    const std::string_view got(static_cast<const char*>(v.mv_data), v.mv_size);
    if (got != kSchemaValue) {
      return Status(Code::kCorrupt, options_.dir + ": unknown store schema \"" +
                                        std::string(got) + "\"");
    }
  }
  for (size_t i = 0; i < kTables; ++i) {
    rc = mdb_dbi_open(txn, TableName(static_cast<Table>(i)), options_.read_only ? 0 : MDB_CREATE,
                      &dbis_[i]);
    if (rc == MDB_INCOMPATIBLE) return foreign;
    if (rc == MDB_NOTFOUND) {  // read-only: a table a newer ternd adds on its next start
      return Status(Code::kNotFound, options_.dir + ": table " + TableName(static_cast<Table>(i)) +
                                         " missing (start the current ternd on it once)");
    }
    if (rc != 0) return MdbStatus(rc, "mdb_dbi_open");
  }
  if (fresh) {
    MDB_val k = ToVal(kSchemaKey), v = ToVal(kSchemaValue);
    rc = mdb_put(txn, dbis_[static_cast<size_t>(Table::kMeta)], &k, &v, 0);
    if (rc != 0) return MdbStatus(rc, "mdb_put(schema)");
  }
  return Status::Ok();
}

}  // namespace

Status CopyLmdbEnvCompact(KvEnv& env, const std::string& dest_dir) {
  auto* lmdb = dynamic_cast<LmdbEnv*>(&env);
  if (lmdb == nullptr) return Status(Code::kInvalidArgument, "not an LMDB store");
  const std::string file = dest_dir + "/data.mdb";
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) return Status(Code::kInvalidArgument, file + " already exists");
  // One read txn inside mdb_env_copy2 gives a consistent snapshot; writers go on meanwhile.
  int rc = mdb_env_copy2(lmdb->raw(), dest_dir.c_str(), MDB_CP_COMPACT);
  if (rc != 0) return MdbStatus(rc, "mdb_env_copy2");
  for (const std::string& path : {file, dest_dir}) {  // the file, then its directory entry
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      return Status(Code::kUnavailable, "fsync " + path);
    }
    ::close(fd);
  }
  return Status::Ok();
}

Result<std::unique_ptr<KvEnv>> OpenLmdbEnv(const LmdbOptions& options) {
  auto env = std::make_unique<LmdbEnv>(options);
  TERN_RETURN_IF_ERROR(env->Open());
  return std::unique_ptr<KvEnv>(std::move(env));
}

}  // namespace tern::store
