// Test support for tern_store_tests: run a suite against every KvEnv backend.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/kv.h"
#include "store/lmdb_env.h"
#include "store/mem_env.h"

namespace tern::store::testing {

enum class Backend { kMem, kLmdb };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kMem ? "Mem" : "Lmdb";
}

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/tern-store-test-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Fixture base: env() is a fresh store of the parameter's backend.
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { ASSERT_TRUE(Open().ok()); }

  Status Open(uint64_t initial_map_bytes = 4ull << 20) {
    env_.reset();
    if (GetParam() == Backend::kMem) {
      env_ = NewMemEnv();
      return Status::Ok();
    }
    LmdbOptions o;
    o.dir = dir_.path() + "/db";
    o.initial_map_bytes = initial_map_bytes;
    auto env = OpenLmdbEnv(o);
    if (!env.ok()) return env.status();
    env_ = std::move(env).value();
    return Status::Ok();
  }

  std::unique_ptr<KvTxn> Begin(bool write) {
    auto txn = env_->Begin(write);
    EXPECT_TRUE(txn.ok()) << txn.status().ToString();
    return txn.ok() ? std::move(txn).value() : nullptr;
  }

  KvEnv& env() { return *env_; }
  const TempDir& dir() const { return dir_; }
  void Close() { env_.reset(); }

 private:
  TempDir dir_;
  std::unique_ptr<KvEnv> env_;
};

#define TERN_ASSERT_OK(expr)                                    \
  do {                                                          \
    const ::tern::Status s_ = (expr);                           \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.ToString();     \
  } while (0)
#define TERN_EXPECT_OK(expr)                                    \
  do {                                                          \
    const ::tern::Status s_ = (expr);                           \
    EXPECT_TRUE(s_.ok()) << #expr << ": " << s_.ToString();     \
  } while (0)

}  // namespace tern::store::testing
