// tern-admin against real ternd data folders: inspect counts and queue depths (while ternd
// runs), an online backup restored into a new folder that a fresh ternd serves from, the
// refusals (not a Tern folder, writing commands while ternd runs, restoring over a store).
#include <gtest/gtest.h>
#include <lmdb.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

uint64_t WallNowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

ProcessResult Admin(std::vector<std::string> args) {
  args.insert(args.begin(), TERN_ADMIN_PATH);
  return RunProcess(args, 30000);
}

// "key value" lines of `tern-admin inspect` (queue lines keyed "queue USER/DEVICE").
std::map<std::string, std::string> ParseInspect(const std::string& out) {
  std::map<std::string, std::string> kv;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string key, value;
    l >> key >> value;
    if (key == "queue") {
      std::string depth_word, depth;
      l >> depth_word >> depth;
      kv["queue " + value] = depth;
    } else {
      kv[key] = value;
    }
  }
  return kv;
}

std::string Dev(uint64_t user, uint32_t device) { return "queue " + std::to_string(user) + "/" + std::to_string(device); }

void ExpectOneLineRefusal(const ProcessResult& r, const std::string& needle) {
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("tern-admin: ", 0), 0u) << r.err;
}

TEST(AdminTest, InspectShowsCountsAndQueueDepthsWhileTerndRuns) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15550900001");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = RegisterUser(server, "+15550900002");
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  auto bob2 = LinkDevice(server, **bob, "bob laptop");
  ASSERT_TRUE(bob2.ok()) << bob2.status().ToString();
  const uint64_t bob_id = (*bob)->state().user_id;
  (*bob)->Close();
  (*bob2)->Close();
  auto seqs = SendAll(**alice, bob_id, Texts("queued", 7));
  ASSERT_TRUE(seqs.ok());
  auto acks = WaitForAcks(**alice, *seqs);
  ASSERT_TRUE(acks.ok()) << acks.status().ToString();

  ProcessResult r = Admin({"inspect", "--data", server.data_dir(), "--top", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto kv = ParseInspect(r.out);
  EXPECT_EQ(kv["users"], "2") << r.out;
  EXPECT_EQ(kv["devices"], "3") << r.out;
  EXPECT_EQ(kv["direct_chats"], "1") << r.out;
  EXPECT_EQ(kv["messages"], "7") << r.out;  // one body per message, however many devices
  EXPECT_EQ(kv[Dev(bob_id, 1)], "7") << r.out;
  EXPECT_EQ(kv[Dev(bob_id, 2)], "7") << r.out;
  EXPECT_NE(kv["oldest_undelivered_age_s"], "-") << r.out;
  // An hour later (the tool's clock is an argument) the oldest item is an hour old.
  const uint64_t later = WallNowMs() + 3600 * 1000;
  r = Admin({"inspect", "--data", server.data_dir(), "--now-ms", std::to_string(later)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const uint64_t age = std::stoull(ParseInspect(r.out)["oldest_undelivered_age_s"]);
  EXPECT_GE(age, 3599u);
  EXPECT_LE(age, 3700u);

  r = Admin({"stats", "--data", server.data_dir()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"users\":2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"queue\":14"), std::string::npos) << r.out;
}

TEST(AdminTest, OnlineBackupRestoredIntoNewFolderDeliversQueuedMessages) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15550900011");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  const std::string bob_state = server.root() + "/bob.state";
  auto bob = RegisterUser(server, "+15550900012", {}, bob_state);
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  const uint64_t bob_id = (*bob)->state().user_id;
  (*bob)->Close();
  const std::vector<std::string> texts = Texts("before backup", 5);
  auto seqs = SendAll(**alice, bob_id, texts);
  ASSERT_TRUE(seqs.ok());
  ASSERT_TRUE(WaitForAcks(**alice, *seqs).ok());

  // Online: ternd keeps running (and serving) during and after the backup.
  const std::string backup = server.root() + "/backup";
  ProcessResult r = Admin({"backup", "--data", server.data_dir(), "--to", backup});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(backup + "/store/data.mdb"));
  auto late = SendAll(**alice, bob_id, {"after backup"});
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE(WaitForAcks(**alice, *late).ok());
  ASSERT_TRUE(server.running());

  // Never over a live store: the running server's folder is refused.
  r = Admin({"restore", "--from", backup, "--data", server.data_dir()});
  ExpectOneLineRefusal(r, "refusing to restore");

  TestServer restored;
  r = Admin({"restore", "--from", backup, "--data", restored.data_dir()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A second restore into the now-populated folder is refused too (ternd not running there).
  r = Admin({"restore", "--from", backup, "--data", restored.data_dir()});
  ExpectOneLineRefusal(r, "already holds a store");

  ASSERT_TRUE(restored.Start().ok());
  auto bob_back = Client::Create(restored.ClientOptions(bob_state));
  ASSERT_TRUE(bob_back.ok()) << bob_back.status().ToString();
  ASSERT_TRUE((*bob_back)->Resume().ok());
  ASSERT_TRUE((*bob_back)->WaitForItems(texts.size(), kWaitMs).ok());
  ASSERT_TRUE((*bob_back)->RoundTrip(kWaitMs).ok());
  EXPECT_EQ(InboxTexts(**bob_back), texts) << "exactly the messages queued at backup time";
}

TEST(AdminTest, RefusesFoldersThatAreNotTernStores) {
  TempDir dir;
  // No folder, an empty folder, and an LMDB database that is not Tern's.
  ExpectOneLineRefusal(Admin({"inspect", "--data", dir.Sub("missing")}), "no such folder");
  std::filesystem::create_directories(dir.Sub("empty"));
  ExpectOneLineRefusal(Admin({"inspect", "--data", dir.Sub("empty")}), "not a Tern data folder");
  ExpectOneLineRefusal(Admin({"backup", "--data", dir.Sub("empty"), "--to", dir.Sub("b")}), "not a Tern data folder");
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("empty/store/data.mdb"))) << "inspect must not create a store";

  const std::string other = dir.Sub("other/store");
  std::filesystem::create_directories(other);
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_open(env, other.c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
  MDB_val k{5, const_cast<char*>("hello")}, v{5, const_cast<char*>("world")};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  for (const char* cmd : {"inspect", "stats", "expire"})
    ExpectOneLineRefusal(Admin({cmd, "--data", dir.Sub("other")}), "not a Tern data folder");
  ExpectOneLineRefusal(Admin({"restore", "--from", dir.Sub("other"), "--data", dir.Sub("new")}),
                       "not a Tern data folder");
}

TEST(AdminTest, ExpireRefusedWhileTerndRunsAndSweepsWhenStopped) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto alice = RegisterUser(server, "+15550900021");
  ASSERT_TRUE(alice.ok());
  auto bob = RegisterUser(server, "+15550900022");
  ASSERT_TRUE(bob.ok());
  const uint64_t bob_id = (*bob)->state().user_id;
  (*bob)->Close();
  auto seqs = SendAll(**alice, bob_id, Texts("doomed", 3));
  ASSERT_TRUE(seqs.ok());
  ASSERT_TRUE(WaitForAcks(**alice, *seqs).ok());
  (*alice)->Close();

  ExpectOneLineRefusal(Admin({"expire", "--data", server.data_dir()}), "in use by another process");
  // Nothing is due yet: a sweep at the real time expires nothing.
  auto stopped = server.Stop();
  ASSERT_TRUE(stopped.ok() && *stopped == 0);
  ProcessResult r = Admin({"expire", "--data", server.data_dir()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "expired 0 messages\n");
  // 31 days later (message_ttl_ms is 30 days) all three are due.
  const uint64_t later = WallNowMs() + 31ull * 24 * 3600 * 1000;
  r = Admin({"expire", "--data", server.data_dir(), "--now-ms", std::to_string(later), "--budget", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "expired 3 messages\n");
  r = Admin({"inspect", "--data", server.data_dir()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseInspect(r.out)["messages"], "0") << r.out;
  // ternd starts again on the swept folder (the lock was released).
  ASSERT_TRUE(server.Restart().ok());
}

}  // namespace
}  // namespace tern::testing
