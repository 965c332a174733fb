// LmdbEnv behaviour beyond the KvEnv conformance suite: durability across reopen, refusing
// foreign directories, map growth.
#include <gtest/gtest.h>
#include <lmdb.h>

#include <chrono>
#include <string>

#include "store/lmdb_env.h"
#include "tests/unit/store_test_env.h"

namespace tern::store::testing {
namespace {

Result<std::unique_ptr<KvEnv>> OpenAt(const std::string& dir, uint64_t map = 4ull << 20) {
  LmdbOptions o;
  o.dir = dir;
  o.initial_map_bytes = map;
  return OpenLmdbEnv(o);
}

// Writes `key`=`value` into the unnamed database of a plain LMDB env at `dir` (a foreign
// application's store), or into named database `db` if given.
void WriteForeignLmdb(const std::string& dir, const char* db, const std::string& key,
                      const std::string& value) {
  MDB_env* env = nullptr;
  ASSERT_EQ(0, mdb_env_create(&env));
  ASSERT_EQ(0, mdb_env_set_maxdbs(env, 4));
  ASSERT_EQ(0, mdb_env_open(env, dir.c_str(), 0, 0644));
  MDB_txn* txn = nullptr;
  ASSERT_EQ(0, mdb_txn_begin(env, nullptr, 0, &txn));
  MDB_dbi dbi;
  ASSERT_EQ(0, mdb_dbi_open(txn, db, MDB_CREATE, &dbi));
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  ASSERT_EQ(0, mdb_put(txn, dbi, &k, &v, 0));
  ASSERT_EQ(0, mdb_txn_commit(txn));
  mdb_env_close(env);
}

TEST(LmdbEnv, CreatesMissingDirectoryAndDataSurvivesReopen) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/a/b";
  {
    auto env = OpenAt(dir);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    auto w = env.value()->Begin(true);
    ASSERT_TRUE(w.ok());
    TERN_ASSERT_OK(w.value()->Put(Table::kQueue, "k", "durable"));
    TERN_ASSERT_OK(w.value()->Commit());
    w = env.value()->Begin(true);
    ASSERT_TRUE(w.ok());
    TERN_ASSERT_OK(w.value()->Put(Table::kQueue, "k2", "aborted"));
  }  // the open txn is aborted before the env closes
  auto env = OpenAt(dir);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto r = env.value()->Begin(false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("durable", r.value()->Get(Table::kQueue, "k").value());
  EXPECT_EQ(std::nullopt, r.value()->Get(Table::kQueue, "k2").value());
  EXPECT_EQ("tern-store-1", r.value()->Get(Table::kMeta, "schema").value());
}

TEST(LmdbEnv, ForeignLmdbWithPlainKeysIsCorrupt) {
  TempDir tmp;
  WriteForeignLmdb(tmp.path(), nullptr, "hello", "world");
  auto env = OpenAt(tmp.path());
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(Code::kCorrupt, env.status().code());
  EXPECT_NE(std::string::npos, env.status().message().find("not a Tern store"));
}

TEST(LmdbEnv, ForeignLmdbWithAMetaDatabaseIsCorrupt) {
  TempDir tmp;
  WriteForeignLmdb(tmp.path(), "meta", "version", "7");
  auto env = OpenAt(tmp.path());
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(Code::kCorrupt, env.status().code());
}

TEST(LmdbEnv, UnknownSchemaVersionIsCorrupt) {
  TempDir tmp;
  ASSERT_TRUE(OpenAt(tmp.path()).ok());
  WriteForeignLmdb(tmp.path(), "meta", "schema", "tern-store-99");
  auto env = OpenAt(tmp.path());
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(Code::kCorrupt, env.status().code());
  EXPECT_NE(std::string::npos, env.status().message().find("schema"));
}

TEST(LmdbEnv, UnusableDirectoryIsUnavailable) {
  auto env = OpenAt("/proc/tern-cannot-exist/db");
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(Code::kUnavailable, env.status().code());
}

// ~50 MiB in 100 KiB txns starting from a 1 MiB map: MaybeGrow() between txns keeps ahead.
TEST(LmdbEnv, MapGrowsBetweenTxnsSoFiftyMegabytesNeverHitNoSpace) {
  TempDir tmp;
  auto opened = OpenAt(tmp.path(), 1ull << 20);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  KvEnv& env = *opened.value();
  const uint64_t map_before = env.Stats()->map_size;
  const std::string value(1000, 'x');
  uint64_t key = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int txn_i = 0; txn_i < 500; ++txn_i) {
    TERN_ASSERT_OK(env.MaybeGrow());
    auto w = env.Begin(true);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (int i = 0; i < 100; ++i) {
      std::string k = std::to_string(1000000000 + key++);
      TERN_ASSERT_OK(w.value()->Put(Table::kMsgs, k, value));
    }
    TERN_ASSERT_OK(w.value()->Commit());
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start).count();
  auto s = env.Stats();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(50000u, s->entries[static_cast<size_t>(Table::kMsgs)]);
  EXPECT_GT(s->map_size, map_before);
  EXPECT_GE(s->map_size, 50ull << 20);
  RecordProperty("map_bytes", std::to_string(s->map_size));
  RecordProperty("used_bytes", std::to_string(s->used_bytes));
  std::printf("  map %llu MiB, used %llu MiB, 500 synced txns in %lld ms\n",
              static_cast<unsigned long long>(s->map_size >> 20),
              static_cast<unsigned long long>(s->used_bytes >> 20), static_cast<long long>(ms));
}

TEST(LmdbEnv, TxnThatFillsTheMapIsNoSpaceAndNextMaybeGrowMakesRoom) {
  TempDir tmp;
  auto opened = OpenAt(tmp.path(), 1ull << 20);
  ASSERT_TRUE(opened.ok());
  KvEnv& env = *opened.value();
  const std::string value(1000, 'y');
  auto fill = [&](int n) -> Status {
    auto w = env.Begin(true);
    if (!w.ok()) return w.status();
    for (int i = 0; i < n; ++i) {
      TERN_RETURN_IF_ERROR(w.value()->Put(Table::kMsgs, std::to_string(1000000 + i), value));
    }
    return w.value()->Commit();
  };
  const Status full = fill(2000);  // ~2 MiB into a 1 MiB map
  EXPECT_EQ(Code::kNoSpace, full.code()) << full.ToString();
  // kNoSpace is not sticky: after growing, the same txn fits.
  TERN_ASSERT_OK(env.MaybeGrow());
  TERN_ASSERT_OK(env.MaybeGrow());
  EXPECT_GE(env.Stats()->map_size, 2ull << 20);
  TERN_EXPECT_OK(fill(500));
}

}  // namespace
}  // namespace tern::store::testing
