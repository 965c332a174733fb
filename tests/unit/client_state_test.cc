// StateStore / ClientState: round trip, atomic save, corrupt and missing files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tools/client/client_state.h"

namespace tern::tools {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tern-client-test-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

ClientState SampleState() {
  ClientState s;
  s.user_id = 42;
  s.device_id = 3;
  s.token = std::string("tok\0en\n\xff bytes", 14);
  s.inbox_epoch = 0xdeadbeef;
  s.last_inbox_seq = 1234567890123ULL;
  s.next_client_seq = 10;
  s.last_acked_client_seq = 6;
  s.unacked = {{7, 99, "hello"}, {8, 100, "multi\nline text with spaces"}, {9, 99, ""}};
  return s;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

TEST(ClientStateTest, SerializedStateParsesBackIdentical) {
  ClientState s = SampleState();
  Result<ClientState> back = ParseClientState(SerializeClientState(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value(), s);
}

TEST(ClientStateTest, FileRoundTripKeepsEveryField) {
  TempDir dir;
  StateStore store(dir.file("state"));
  ClientState s = SampleState();
  ASSERT_TRUE(store.Save(s).ok());
  StateStore reopened(dir.file("state"));
  Result<ClientState> loaded = reopened.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded.value(), s);
  EXPECT_TRUE(loaded->registered());
}

TEST(ClientStateTest, MissingFileLoadsAsFreshUnregisteredState) {
  TempDir dir;
  StateStore store(dir.file("nope/state"));
  Result<ClientState> loaded = store.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.value(), ClientState{});
  EXPECT_FALSE(loaded->registered());
}

TEST(ClientStateTest, SaveCreatesParentDirectories) {
  TempDir dir;
  StateStore store(dir.file("a/b/state"));
  ASSERT_TRUE(store.Save(SampleState()).ok());
  EXPECT_TRUE(fs::exists(dir.file("a/b/state")));
}

TEST(ClientStateTest, SaveReplacesAtomicallyAndLeavesNoTempFile) {
  TempDir dir;
  StateStore store(dir.file("state"));
  ClientState first = SampleState();
  ASSERT_TRUE(store.Save(first).ok());
  ClientState second = first;
  second.last_inbox_seq += 5;
  second.unacked.clear();
  ASSERT_TRUE(store.Save(second).ok());
  EXPECT_FALSE(fs::exists(dir.file("state.tmp")));
  EXPECT_EQ(ReadAll(dir.file("state")), SerializeClientState(second));
  EXPECT_EQ(store.saves(), 2u);
}

TEST(ClientStateTest, FailedSaveLeavesPreviousFileIntact) {
  TempDir dir;
  StateStore store(dir.file("state"));
  ClientState first = SampleState();
  ASSERT_TRUE(store.Save(first).ok());
  // A directory where the temp file must go makes the write fail before the rename.
  fs::create_directory(dir.file("state.tmp"));
  ClientState second = first;
  second.user_id = 7;
  Status st = store.Save(second);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  Result<ClientState> loaded = store.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.value(), first);
}

TEST(ClientStateTest, StaleTempFileDoesNotAffectLoad) {
  TempDir dir;
  StateStore store(dir.file("state"));
  ASSERT_TRUE(store.Save(SampleState()).ok());
  WriteAll(dir.file("state.tmp"), "half written garbage");
  Result<ClientState> loaded = store.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.value(), SampleState());
}

TEST(ClientStateTest, FlippedByteIsCorrupt) {
  TempDir dir;
  StateStore store(dir.file("state"));
  ASSERT_TRUE(store.Save(SampleState()).ok());
  std::string data = ReadAll(dir.file("state"));
  data[data.find("last_inbox_seq") + 16] ^= 1;
  WriteAll(dir.file("state"), data);
  Result<ClientState> loaded = store.Load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), Code::kCorrupt);
  EXPECT_NE(loaded.status().message().find(dir.file("state")), std::string::npos);
}

TEST(ClientStateTest, TruncatedFileIsCorrupt) {
  std::string data = SerializeClientState(SampleState());
  for (size_t len : {size_t{0}, size_t{5}, data.size() / 2, data.size() - 1}) {
    Result<ClientState> parsed = ParseClientState(data.substr(0, len));
    ASSERT_FALSE(parsed.ok()) << "length " << len;
    EXPECT_EQ(parsed.status().code(), Code::kCorrupt);
  }
}

TEST(ClientStateTest, GarbageIsCorrupt) {
  const std::vector<std::string> bad_files = {
      "hello world\n", "tern-state 1\nchecksum 0000000000000000\n", std::string("\0\0\0", 3)};
  for (const std::string& bad : bad_files) {
    Result<ClientState> parsed = ParseClientState(bad);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), Code::kCorrupt);
  }
}

TEST(ClientStateTest, InMemoryStoreNeverTouchesDisk) {
  StateStore store("");
  EXPECT_TRUE(store.in_memory());
  EXPECT_TRUE(store.Save(SampleState()).ok());
  Result<ClientState> loaded = store.Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.value(), ClientState{});
}

}  // namespace
}  // namespace tern::tools
