#include "tools/admin/admin.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "store/accounts.h"
#include "store/dir_lock.h"
#include "store/kv.h"
#include "store/lmdb_env.h"
#include "store/mailbox.h"

namespace tern::admin {
namespace {

namespace fs = std::filesystem;
using store::Table;

int Fail(const std::string& what) {
  std::fprintf(stderr, "tern-admin: %s\n", what.c_str());
  return 1;
}

unsigned long long U(uint64_t v) { return static_cast<unsigned long long>(v); }

// Opens `<data>/store`: read-only unless `write`. Never creates a store.
Result<std::unique_ptr<store::KvEnv>> OpenStore(const std::string& data, bool write) {
  std::error_code ec;
  if (!fs::is_directory(data, ec)) return Status(Code::kNotFound, data + ": no such folder");
  store::LmdbOptions o;
  o.dir = data + "/store";
  o.read_only = !write;
  o.must_exist = true;
  auto env = store::OpenLmdbEnv(o);
  if (!env.ok() && (env.status().code() == Code::kNotFound || env.status().code() == Code::kCorrupt))
    return Status(env.status().code(), data + " is not a Tern data folder (" + env.status().message() + ")");
  return env;
}

uint64_t AgeS(uint64_t now_ms, uint64_t ts_ms) { return ts_ms == 0 || ts_ms > now_ms ? 0 : (now_ms - ts_ms) / 1000; }

}  // namespace

int Inspect(const std::string& data, size_t top, uint64_t now_ms, std::FILE* out) {
  auto env = OpenStore(data, false);
  if (!env.ok()) return Fail(env.status().message());
  auto kv = env.value()->Stats();
  if (!kv.ok()) return Fail(kv.status().ToString());
  auto txn = env.value()->Begin(false);
  if (!txn.ok()) return Fail(txn.status().ToString());
  uint64_t direct = 0, group = 0;
  Status st = txn.value()->Scan(Table::kChats, "", [&](std::string_view key, std::string_view) {
    ++(!key.empty() && key[0] == 1 ? group : direct);
    return true;
  });
  if (!st.ok()) return Fail(st.ToString());
  auto queues = store::Mailbox(*txn.value()).QueueSummaries();
  if (!queues.ok()) return Fail(queues.status().ToString());
  auto n = [&](Table t) { return U(kv->entries[static_cast<size_t>(t)]); };
  uint64_t oldest = 0;
  for (const auto& q : *queues)
    if (q.oldest_ts_ms != 0 && (oldest == 0 || q.oldest_ts_ms < oldest)) oldest = q.oldest_ts_ms;
  std::fprintf(out, "store %s/store\n", data.c_str());
  std::fprintf(out, "users %llu\ndevices %llu\nchats %llu\ndirect_chats %llu\ngroup_chats %llu\ngroups %llu\n",
               n(Table::kUsers), n(Table::kDevices), U(direct + group), U(direct), U(group), n(Table::kGroups));
  std::fprintf(out, "messages %llu\nqueue_items %llu\nqueues_nonempty %llu\n", n(Table::kMsgs), n(Table::kQueue),
               U(queues->size()));
  if (oldest != 0) std::fprintf(out, "oldest_undelivered_age_s %llu\n", U(AgeS(now_ms, oldest)));
  else std::fprintf(out, "oldest_undelivered_age_s -\n");
  std::fprintf(out, "map_bytes %llu\nused_bytes %llu\n", U(kv->map_size), U(kv->used_bytes));
  std::vector<store::QueueSummary> sorted = std::move(queues).value();
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const store::QueueSummary& a, const store::QueueSummary& b) { return a.depth > b.depth; });
  if (top != 0 && sorted.size() > top) sorted.resize(top);
  for (const auto& q : sorted) {
    std::fprintf(out, "queue %llu/%u depth %llu oldest_age_s %llu\n", U(q.device.user_id), q.device.device_id,
                 U(q.depth), U(AgeS(now_ms, q.oldest_ts_ms)));
  }
  return 0;
}

int Stats(const std::string& data, std::FILE* out) {
  auto env = OpenStore(data, false);
  if (!env.ok()) return Fail(env.status().message());
  auto kv = env.value()->Stats();
  if (!kv.ok()) return Fail(kv.status().ToString());
  std::string line = "{";
  for (size_t i = 0; i < static_cast<size_t>(Table::kCount); ++i) {
    line += "\"" + std::string(store::TableName(static_cast<Table>(i))) + "\":" + std::to_string(kv->entries[i]) + ",";
  }
  line += "\"map_bytes\":" + std::to_string(kv->map_size) + ",\"used_bytes\":" + std::to_string(kv->used_bytes) + "}";
  std::fprintf(out, "%s\n", line.c_str());
  return 0;
}

int Backup(const std::string& data, const std::string& to, std::FILE* out) {
  auto env = OpenStore(data, false);
  if (!env.ok()) return Fail(env.status().message());
  std::error_code ec;
  if (fs::exists(to, ec) && !fs::is_empty(to, ec)) return Fail(to + " exists and is not empty");
  fs::create_directories(to + "/store", ec);
  if (ec) return Fail("create " + to + "/store: " + ec.message());
  ::chmod(to.c_str(), 0700);  // holds the TLS key and every message
  Status s = store::CopyLmdbEnvCompact(*env.value(), to + "/store");
  if (!s.ok()) return Fail("backup: " + s.ToString());
  bool tls = false;
  if (fs::is_directory(data + "/tls", ec)) {
    fs::copy(data + "/tls", to + "/tls", fs::copy_options::recursive, ec);
    if (ec) return Fail("copy " + data + "/tls: " + ec.message());
    tls = true;
  }
  const auto bytes = fs::file_size(to + "/store/data.mdb", ec);
  std::fprintf(out, "backup of %s written to %s (store %llu bytes, compacted%s)\n", data.c_str(), to.c_str(),
               U(ec ? 0 : bytes), tls ? "; tls/ copied" : "");
  return 0;
}

int Restore(const std::string& from, const std::string& data, std::FILE* out) {
  auto src = OpenStore(from, false);
  if (!src.ok()) return Fail(src.status().message());
  std::error_code ec;
  fs::create_directories(data, ec);
  if (ec) return Fail("create " + data + ": " + ec.message());
  auto lock = store::DirLock::Acquire(data);
  if (!lock.ok()) return Fail("refusing to restore: " + lock.status().message());
  if (fs::exists(data + "/store/data.mdb", ec))
    return Fail("refusing to restore: " + data + " already holds a store (store/data.mdb); restore into an empty or new data folder");
  const std::string staging = data + "/store.restoring";
  fs::remove_all(staging, ec);  // a previous restore that stopped half-way
  fs::create_directories(staging, ec);
  if (ec) return Fail("create " + staging + ": " + ec.message());
  Status s = store::CopyLmdbEnvCompact(*src.value(), staging);
  if (!s.ok()) return Fail("restore: " + s.ToString());
  fs::remove_all(data + "/store", ec);  // at most an empty folder or a stale lock.mdb: no data.mdb
  fs::rename(staging, data + "/store", ec);
  if (ec) return Fail("rename " + staging + ": " + ec.message());
  bool tls = false;
  if (fs::is_directory(from + "/tls", ec) && !fs::exists(data + "/tls", ec)) {
    fs::copy(from + "/tls", data + "/tls", fs::copy_options::recursive, ec);
    if (ec) return Fail("copy " + from + "/tls: " + ec.message());
    tls = true;
  }
  src.value().reset();
  auto check = OpenStore(data, false);
  if (!check.ok()) return Fail("restored store does not open: " + check.status().message());
  std::fprintf(out, "restored %s into %s%s\n", from.c_str(), data.c_str(), tls ? " (with tls/)" : "");
  return 0;
}

int Expire(const std::string& data, uint64_t now_ms, size_t budget, std::FILE* out) {
  std::error_code ec;
  if (!fs::is_directory(data, ec)) return Fail(data + ": no such folder");
  if (!fs::exists(data + "/store/data.mdb", ec)) return Fail(data + " is not a Tern data folder (no store/data.mdb)");
  auto lock = store::DirLock::Acquire(data);
  if (!lock.ok()) return Fail("refusing to expire (stop ternd first; its own sweeper runs every expiry_interval_ms): " + lock.status().message());
  auto env = OpenStore(data, true);
  if (!env.ok()) return Fail(env.status().message());
  uint64_t total = 0;
  for (;;) {
    auto txn = env.value()->Begin(true);
    if (!txn.ok()) return Fail(txn.status().ToString());
    store::Accounts acc(*txn.value());
    auto outcome = store::Mailbox(*txn.value()).Expire(now_ms, budget, [&](uint64_t user) {
      std::vector<store::DeviceKey> devices;
      auto list = acc.ListDevices(user);
      if (list.ok())
        for (const auto& d : *list) devices.push_back({d.user_id, d.device_id});
      return devices;
    });
    if (!outcome.ok()) return Fail("expire: " + outcome.status().ToString());
    if (Status c = txn.value()->Commit(); !c.ok()) return Fail("commit: " + c.ToString());
    total += outcome->expired;
    if (Status g = env.value()->MaybeGrow(); !g.ok()) return Fail(g.ToString());
    if (outcome->expired < budget) break;
  }
  std::fprintf(out, "expired %llu messages\n", U(total));
  return 0;
}

}  // namespace tern::admin
