#include "store/lmdb_util.h"

#include <string>

namespace tern::store {

Status CheckKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return Status(Code::kInvalidArgument,
                  "key size " + std::to_string(key.size()) + " outside 1.." +
                      std::to_string(kMaxKeyBytes));
  }
  return Status::Ok();
}

Status MdbStatus(int rc, const char* op) {
  const std::string msg = std::string(op) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
      return Status(Code::kNoSpace, msg);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
      return Status(Code::kCorrupt, msg);
    case MDB_BAD_VALSIZE:
      return Status(Code::kInvalidArgument, msg);
    default:
      break;
  }
  // LMDB passes system errors through as positive errno values.
  if (rc > 0) return Status(Code::kUnavailable, msg);
  return Status(Code::kInternal, msg);
}

Status CommitStatus(int rc) {
  if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL) return MdbStatus(rc, "mdb_txn_commit");
  return Status(Code::kUnavailable, std::string("mdb_txn_commit: ") + mdb_strerror(rc));
}

Status ReadMapUsage(MDB_env* env, MapUsage* out) {
  MDB_envinfo info;
  MDB_stat st;
  int rc = mdb_env_info(env, &info);
  if (rc != 0) return MdbStatus(rc, "mdb_env_info");
  rc = mdb_env_stat(env, &st);
  if (rc != 0) return MdbStatus(rc, "mdb_env_stat");
  out->map = info.me_mapsize;
  out->used = (static_cast<uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
  return Status::Ok();
}

}  // namespace tern::store
