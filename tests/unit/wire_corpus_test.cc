// Seed corpora for fuzz/wire_frame_fuzz.cc and fuzz/wire_session_fuzz.cc.
//
// The seeds are checked in under fuzz/corpus/; this test checks they still parse as intended
// (so a wire change that invalidates them is noticed), and the disabled generator rewrites them:
//   tern_wire_tests --gtest_also_run_disabled_tests --gtest_filter='*WriteFuzzSeeds'
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/wire_test_util.h"

namespace tern::wire::testing {
namespace {

using Seeds = std::vector<std::pair<std::string, std::string>>;  // file name, contents

std::string AllSampleFrames() {
  std::string s;
  for (const Message& m : SampleMessages()) s += FrameOf(m);
  return s;
}

// wire_frame_fuzz: byte 0 = mode (bit 0: 1 KiB limit; bits 1-7: chunk size, 0 = whole).
Seeds FrameSeeds() {
  const auto samples = SampleMessages();
  std::string oversized;
  PutVarint(oversized, 5000);
  return {
      {"all_types_whole", std::string(1, '\x00') + AllSampleFrames()},
      {"all_types_bytewise_preauth_limit", std::string(1, '\x03') + AllSampleFrames()},
      {"ping_bytewise", std::string(1, '\x03') + FrameOf(Ping{42})},
      {"deliver_chunked", std::string(1, '\x0e') + FrameOf(samples[13])},
      {"welcome_then_partial", std::string(1, '\x00') + FrameOf(samples[5]) + "\x20\x00\x0c"},
      {"oversized_header", std::string(1, '\x01') + oversized},
      {"compressed_flag", std::string(1, '\x00') + EncodeFrame(kFlagCompressed, "zz")},
  };
}

// wire_session_fuzz: byte 0 = chunk size (0 = whole), byte 1 bit 0 = answer a handshake with
// Welcome, then the client's bytes.
Seeds SessionSeeds() {
  const std::string auth = std::string(1, '\x00') + "\x01";
  return {
      {"resume_then_traffic", auth + FrameOf(Resume{1, 7, 2, "tok", 3, 100, 55, 64}) +
                                  FrameOf(Ping{1}) + FrameOf(Send{56, 9, "hi"}) +
                                  FrameOf(InboxAck{101}) + FrameOf(ListDevices{7})},
      {"register_bytewise", std::string("\x01\x01", 2) + FrameOf(RequestCode{1, "+15550001"}) +
                                FrameOf(Verify{1, "+15550001", "123456", "phone", 32}) +
                                FrameOf(ResolvePhone{5, "+15550002"})},
      {"send_before_auth", std::string("\x00\x00", 2) + FrameOf(Send{1, 9, "early"})},
      {"link_then_handshake_again", std::string("\x07\x01", 2) + FrameOf(Link{1, "LNK", "pc", 0}) +
                                        FrameOf(UnlinkDevice{8, 3}) + FrameOf(Resume{})},
      {"client_error", auth + FrameOf(Ping{9}) + FrameOf(Error{Code::kTimeout, "bye"})},
      {"wrong_direction", auth + FrameOf(Welcome{})},
  };
}

std::filesystem::path CorpusDir(const char* target) {
  return std::filesystem::path(TERN_SOURCE_DIR) / "fuzz" / "corpus" / target;
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(WireCorpus, DISABLED_WriteFuzzSeeds) {
  for (auto [target, seeds] : {std::pair{"wire_frame_fuzz", FrameSeeds()},
                               std::pair{"wire_session_fuzz", SessionSeeds()}}) {
    std::filesystem::create_directories(CorpusDir(target));
    for (const auto& [name, bytes] : seeds) {
      std::ofstream(CorpusDir(target) / name, std::ios::binary) << bytes;
    }
  }
}

TEST(WireCorpus, CheckedInSeedsMatchTheGenerator) {
  for (auto [target, seeds] : {std::pair{"wire_frame_fuzz", FrameSeeds()},
                               std::pair{"wire_session_fuzz", SessionSeeds()}}) {
    for (const auto& [name, bytes] : seeds) {
      SCOPED_TRACE(std::string(target) + "/" + name);
      EXPECT_EQ(ToHex(ReadFile(CorpusDir(target) / name)), ToHex(bytes));
    }
  }
}

}  // namespace
}  // namespace tern::wire::testing
