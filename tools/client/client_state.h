// ClientState: everything a Tern device must remember across connections and restarts, and
// StateStore, which keeps it in a local file (or only in memory).
//
// The state is the client half of the resume contract (wire/PROTOCOL.md §3.2-3.4): the device
// credentials, the durable inbox position (epoch + last stored inbox seq), the client-seq
// counter and every Send that has no final SendAck yet. A Send is written here before it is
// written to the socket, so a crash or a drop never loses it and never reuses its client_seq.
//
// File format (text, one record per line, every variable-length field hex-encoded):
//   tern-state 1
//   user_id <u64>            device_id <u32>          token <hex>
//   inbox_epoch <u32>        last_inbox_seq <u64>
//   next_client_seq <u64>    last_acked_client_seq <u64>
//   pending <client_seq> <to_user> <hex text>        (zero or more, ascending client_seq)
//   checksum <16 hex digits: FNV-1a 64 of every byte before this line>
// Any deviation (unknown key, missing key, bad number, bad checksum, truncation) is kCorrupt.
//
// Thread safety: values and a single-writer store; callers serialize access to one file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wire/messages.h"
#include "wire/status.h"

namespace tern::tools {

// A Send the server has not answered with a final SendAck (ok or a permanent refusal).
struct PendingSend {
  uint64_t client_seq = 0;
  uint64_t to_user = 0;
  std::string text;
  uint64_t group_id = 0;  // nonzero: a group message (to_user is 0)
  std::vector<wire::AssetRef> assets;  // media references (PROTOCOL.md §5)
  bool operator==(const PendingSend&) const = default;
};

struct ClientState {
  uint64_t user_id = 0;
  uint32_t device_id = 0;
  std::string token;  // device credential as issued in Welcome.token (opaque bytes)
  uint32_t inbox_epoch = 0;
  uint64_t last_inbox_seq = 0;         // highest inbox seq durably stored (in inbox_epoch)
  uint64_t next_client_seq = 1;        // client_seq the next Send gets
  uint64_t last_acked_client_seq = 0;  // highest seq answered with every lower one answered
  std::vector<PendingSend> unacked;    // ascending client_seq

  // True once the device holds credentials (after Verify or Link).
  bool registered() const { return user_id != 0 && device_id != 0 && !token.empty(); }
  bool operator==(const ClientState&) const = default;
};

// Text encoding of a state (the file format above), and its inverse.
std::string SerializeClientState(const ClientState& state);
// Errors: kCorrupt with a message naming the first bad line.
Result<ClientState> ParseClientState(std::string_view text);

// Loads and saves one ClientState. An empty path means in-memory: Load returns a fresh state
// and Save only succeeds. Save is atomic: it writes `<path>.tmp`, fsyncs it, renames it over
// `<path>` and fsyncs the directory, so a crash leaves either the old or the new state.
// One writer per path (the tmp name is fixed).
class StateStore {
 public:
  explicit StateStore(std::string path) : path_(std::move(path)) {}

  // A missing file is a fresh ClientState (a device that never registered).
  // Errors: kCorrupt (unparseable file), kUnavailable (the file exists but cannot be read).
  Result<ClientState> Load() const;

  // Creates the parent directory if needed.
  // Errors: kUnavailable (any IO failure; the previous file is left untouched).
  Status Save(const ClientState& state);

  bool in_memory() const { return path_.empty(); }
  const std::string& path() const { return path_; }
  uint64_t saves() const { return saves_; }

 private:
  std::string path_;
  uint64_t saves_ = 0;
};

}  // namespace tern::tools
