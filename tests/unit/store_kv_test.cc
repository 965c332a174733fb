// KvEnv conformance: every backend must pass these, so MemEnv-based tests mean something for
// LmdbEnv.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "tests/unit/store_test_env.h"

namespace tern::store::testing {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs ScanAll(KvTxn& txn, Table t, std::string_view start = "") {
  Pairs out;
  const Status s = txn.Scan(t, start, [&](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::optional<std::string> GetOf(KvTxn& txn, Table t, std::string_view key) {
  auto r = txn.Get(t, key);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : std::nullopt;
}

class KvConformance : public BackendTest {};

TEST_P(KvConformance, CommittedPutIsVisibleToLaterTxns) {
  auto w = Begin(true);
  TERN_ASSERT_OK(w->Put(Table::kUsers, "k", "v"));
  TERN_ASSERT_OK(w->Commit());
  auto r = Begin(false);
  EXPECT_EQ("v", GetOf(*r, Table::kUsers, "k"));
  EXPECT_EQ(std::nullopt, GetOf(*r, Table::kUsers, "missing"));
  EXPECT_EQ(std::nullopt, GetOf(*r, Table::kPhones, "k"));  // tables are separate
}

TEST_P(KvConformance, PutOverwritesAndDelRemoves) {
  auto w = Begin(true);
  TERN_ASSERT_OK(w->Put(Table::kMeta, "a", "1"));
  TERN_ASSERT_OK(w->Put(Table::kMeta, "a", "2"));
  TERN_ASSERT_OK(w->Put(Table::kMeta, "b", "3"));
  TERN_ASSERT_OK(w->Commit());
  w = Begin(true);
  EXPECT_EQ("2", GetOf(*w, Table::kMeta, "a"));
  TERN_ASSERT_OK(w->Del(Table::kMeta, "a"));
  TERN_ASSERT_OK(w->Del(Table::kMeta, "never-there"));
  TERN_ASSERT_OK(w->Commit());
  auto r = Begin(false);
  EXPECT_EQ(std::nullopt, GetOf(*r, Table::kMeta, "a"));
  EXPECT_EQ("3", GetOf(*r, Table::kMeta, "b"));
}

TEST_P(KvConformance, ScanIsInUnsignedByteOrderFromStart) {
  auto w = Begin(true);
  for (std::string k : {"\xff", "b", "a", "\x01", "ab", "\x80"}) {
    TERN_ASSERT_OK(w->Put(Table::kQueue, k, "v" + k));
  }
  TERN_ASSERT_OK(w->Commit());
  auto r = Begin(false);
  Pairs all = ScanAll(*r, Table::kQueue);
  std::vector<std::string> keys;
  for (auto& [k, v] : all) keys.push_back(k);
  EXPECT_EQ((std::vector<std::string>{"\x01", "a", "ab", "b", "\x80", "\xff"}), keys);
  Pairs from = ScanAll(*r, Table::kQueue, "aa");
  ASSERT_EQ(4u, from.size());
  EXPECT_EQ("ab", from[0].first);
  EXPECT_EQ("vab", from[0].second);
  EXPECT_TRUE(ScanAll(*r, Table::kQueue, std::string_view("\xff\x00", 2)).empty());
}

TEST_P(KvConformance, ScanStopsWhenCallbackReturnsFalse) {
  auto w = Begin(true);
  for (std::string k : {"1", "2", "3"}) TERN_ASSERT_OK(w->Put(Table::kRefs, k, ""));
  int seen = 0;
  TERN_ASSERT_OK(w->Scan(Table::kRefs, "", [&](std::string_view, std::string_view) {
    return ++seen < 2;
  }));
  EXPECT_EQ(2, seen);
}

TEST_P(KvConformance, AbortDiscardsWrites) {
  auto w = Begin(true);
  TERN_ASSERT_OK(w->Put(Table::kMsgs, "kept", "1"));
  TERN_ASSERT_OK(w->Commit());
  w = Begin(true);
  TERN_ASSERT_OK(w->Put(Table::kMsgs, "x", "1"));
  TERN_ASSERT_OK(w->Del(Table::kMsgs, "kept"));
  w->Abort();
  w = Begin(true);
  TERN_ASSERT_OK(w->Put(Table::kMsgs, "y", "1"));
  w.reset();  // destroying an unfinished txn aborts it
  auto r = Begin(false);
  EXPECT_EQ((Pairs{{"kept", "1"}}), ScanAll(*r, Table::kMsgs));
}

TEST_P(KvConformance, WriteTxnReadsItsOwnWritesInOrder) {
  auto w = Begin(true);
  for (std::string k : {"a", "c", "e"}) TERN_ASSERT_OK(w->Put(Table::kDedupe, k, "old"));
  TERN_ASSERT_OK(w->Commit());
  w = Begin(true);
  TERN_ASSERT_OK(w->Put(Table::kDedupe, "b", "new"));
  TERN_ASSERT_OK(w->Put(Table::kDedupe, "c", "new"));
  TERN_ASSERT_OK(w->Del(Table::kDedupe, "e"));
  TERN_ASSERT_OK(w->Put(Table::kDedupe, "f", "new"));
  EXPECT_EQ("new", GetOf(*w, Table::kDedupe, "c"));
  EXPECT_EQ(std::nullopt, GetOf(*w, Table::kDedupe, "e"));
  EXPECT_EQ((Pairs{{"a", "old"}, {"b", "new"}, {"c", "new"}, {"f", "new"}}),
            ScanAll(*w, Table::kDedupe));
  EXPECT_EQ((Pairs{{"c", "new"}, {"f", "new"}}), ScanAll(*w, Table::kDedupe, "bb"));
  TERN_ASSERT_OK(w->Commit());
  auto r = Begin(false);
  EXPECT_EQ((Pairs{{"a", "old"}, {"b", "new"}, {"c", "new"}, {"f", "new"}}),
            ScanAll(*r, Table::kDedupe));
}

TEST_P(KvConformance, ReadTxnSeesSnapshotFromItsBegin) {
  auto w = Begin(true);
  TERN_ASSERT_OK(w->Put(Table::kChats, "k", "before"));
  TERN_ASSERT_OK(w->Commit());
  auto r = Begin(false);
  w = Begin(true);
  TERN_ASSERT_OK(w->Put(Table::kChats, "k", "after"));
  TERN_ASSERT_OK(w->Put(Table::kChats, "k2", "new"));
  EXPECT_EQ("before", GetOf(*r, Table::kChats, "k"));  // uncommitted: invisible
  TERN_ASSERT_OK(w->Commit());
  EXPECT_EQ("before", GetOf(*r, Table::kChats, "k"));  // committed later: still invisible
  EXPECT_EQ((Pairs{{"k", "before"}}), ScanAll(*r, Table::kChats));
  TERN_ASSERT_OK(r->Commit());
  r = Begin(false);
  EXPECT_EQ("after", GetOf(*r, Table::kChats, "k"));
}

TEST_P(KvConformance, WritesInReadTxnAreInvalidArgument) {
  auto r = Begin(false);
  EXPECT_EQ(Code::kInvalidArgument, r->Put(Table::kMeta, "k", "v").code());
  EXPECT_EQ(Code::kInvalidArgument, r->Del(Table::kMeta, "k").code());
}

TEST_P(KvConformance, KeysLmdbCannotStoreAreInvalidArgument) {
  auto w = Begin(true);
  EXPECT_EQ(Code::kInvalidArgument, w->Put(Table::kMeta, "", "v").code());
  w->Abort();
  w = Begin(true);
  EXPECT_EQ(Code::kInvalidArgument, w->Put(Table::kMeta, std::string(512, 'k'), "v").code());
  w->Abort();
  w = Begin(true);
  TERN_EXPECT_OK(w->Put(Table::kMeta, std::string(511, 'k'), std::string(100000, 'v')));
  TERN_EXPECT_OK(w->Commit());
}

TEST_P(KvConformance, UseAfterCommitIsInvalidArgument) {
  auto w = Begin(true);
  TERN_ASSERT_OK(w->Commit());
  EXPECT_EQ(Code::kInvalidArgument, w->Put(Table::kMeta, "k", "v").code());
  EXPECT_EQ(Code::kInvalidArgument, w->Commit().code());
  w->Abort();  // harmless
}

TEST_P(KvConformance, StatsCountEntriesPerTable) {
  auto w = Begin(true);
  for (int i = 0; i < 5; ++i) TERN_ASSERT_OK(w->Put(Table::kRefs, std::to_string(i), ""));
  TERN_ASSERT_OK(w->Put(Table::kExpiry, "e", ""));
  TERN_ASSERT_OK(w->Commit());
  auto s = env().Stats();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(5u, s->entries[static_cast<size_t>(Table::kRefs)]);
  EXPECT_EQ(1u, s->entries[static_cast<size_t>(Table::kExpiry)]);
  EXPECT_EQ(0u, s->entries[static_cast<size_t>(Table::kMsgs)]);
  if (GetParam() == Backend::kLmdb) {
    EXPECT_EQ(1u, s->entries[static_cast<size_t>(Table::kMeta)]);  // the schema key
    EXPECT_GT(s->map_size, 0u);
    EXPECT_GT(s->used_bytes, 0u);
    EXPECT_LE(s->used_bytes, s->map_size);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, KvConformance,
                         ::testing::Values(Backend::kMem, Backend::kLmdb), BackendName);

}  // namespace
}  // namespace tern::store::testing
