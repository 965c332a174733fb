// `tern send-file` and `tern download`: media through the asset service's presigned URLs and
// the blob client (tools/client/blob_client.h), with a progress bar on stderr and resume after
// a drop (the transfer is retried on the same asset). Across runs, an upload resumes through
// MediaArgs::upload_state (the unfinished asset, renewed with GetUploadTicket{asset_id}) and a
// download from FILE.part. See wire/PROTOCOL.md §5.
//
// Thread safety: one command per process.
#pragma once

#include <string>

#include "tools/client/asset_transfer.h"
#include "tools/client/blob_client.h"
#include "tools/client/client.h"

namespace tern::tools {

// "\r[#########-----------]  45%  1.2 / 2.6 MB" on stderr (when enabled), plus notes.
class ProgressBar {
 public:
  ProgressBar(const char* verb, bool enabled) : verb_(verb), enabled_(enabled) {}
  void Update(uint64_t done, uint64_t total);
  void Note(const std::string& what);  // "tern: WHAT" on its own line

 private:
  const char* verb_;
  bool enabled_;
  int last_ = -1;
};

struct MediaArgs {
  std::string file;         // send-file: the file to send; download: where to write it
  std::string caption;
  std::string mime;         // send-file: empty = guessed from the extension
  uint64_t group = 0;       // send-file to a group instead of a user
  uint64_t asset_id = 0;    // download
  int retries = 5;          // transfer attempts after a drop
  bool progress = false;    // force the progress bar (default: when stderr is a terminal)
  uint64_t cut_after_bytes = 0;  // testing: drop the first attempt after this many bytes
  // send-file: where an unfinished upload is remembered across runs (<state>.upload), so a
  // killed or failed run continues the same asset next time.
  std::string upload_state;
  // The transfer settings above, with notes going to `bar` (which must outlive the transfer).
  TransferOptions Transfer(ProgressBar* bar) const;
};

// Uploads args.file, then sends the reference to `to_user` (or args.group). Prints
// "sent msg_id=.. chat_seq=.. asset_id=..". Returns the exit code.
int RunSendFile(Client& c, uint64_t to_user, const MediaArgs& args, const BlobOptions& blob, int timeout_ms);
// Downloads asset args.asset_id into args.file and checks its SHA-256. Prints
// "downloaded ASSET_ID BYTES bytes sha256 ok -> FILE". Returns the exit code.
int RunDownload(Client& c, const MediaArgs& args, const BlobOptions& blob);
// "image/png" for "x.PNG": the media type guessed from a file name (octet-stream otherwise).
std::string GuessMime(const std::string& path);
// " [asset ID mime SIZE B WxH name]" for each reference of an inbox item ("" without media).
std::string AssetsSuffix(const wire::InboxItem& it);

}  // namespace tern::tools
