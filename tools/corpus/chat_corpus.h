// ChatCorpus: deterministic, varied chat traffic for training the compression dictionary
// (wire/dict/) and for the byte-budget benchmark (bench/e2e_bytes.cc).
//
// Texts mix scripts and kinds the way a messenger's traffic does: Latin (English, Spanish,
// Portuguese, French, German, Indonesian), Cyrillic, CJK (Chinese, Japanese), Arabic, emoji,
// links, media references (asset id, size, mime, sha256) and group events written as the text
// a client would show. Lengths run from 1 to 500 bytes, mostly short. Everything derives from
// the seed: the same seed gives the same bytes on every machine.
//
// Frames: SampleBodies() renders the traffic as the FlatBuffer bodies the real server and client
// exchange: per message a Send (sometimes with a piggybacked ack, sometimes to a group), its
// SendAck, the single-item Deliver, InboxAcks, delivered and read receipt items; offline Deliver
// batches, group events, media attachments, Ping/Pong, Resume/Welcome, ReadMark, Presence and
// expiry notices. Ids, seqs and timestamps have the real server's shapes (random user and group
// ids, node << 48 | counter message ids, counted seqs, to_user 0 for "you"): the training set
// of tern-v2.
//
// Thread safety: a ChatCorpus is one generator; not thread-safe. Functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tern::tools {

class ChatCorpus {
 public:
  explicit ChatCorpus(uint64_t seed) : state_(seed) {}

  // One chat text, 1..500 bytes of valid UTF-8.
  std::string Text();

  // A 1:1 conversation: n lines alternating between two people in bursts of 1-4 lines.
  struct Line {
    int from = 0;  // 0 or 1
    std::string text;
  };
  std::vector<Line> Conversation(size_t n);

  // n frame bodies (FlatBuffers, uncompressed) of representative traffic.
  std::vector<std::string> SampleBodies(size_t n);

  uint64_t Next();               // splitmix64
  uint64_t Below(uint64_t n);    // uniform in [0, n)

 private:
  std::string Words(const std::vector<const char*>& words, size_t target, const char* sep);
  std::string Media();
  std::string Event();
  std::string Link();
  uint64_t state_;
};

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string TruncateUtf8(const std::string& s, size_t max);

}  // namespace tern::tools
