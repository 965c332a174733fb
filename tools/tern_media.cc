#include "tools/tern_media.h"

#include "tools/client/asset_transfer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace tern::tools {

std::string GuessMime(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".jpg", "image/jpeg"},  {".jpeg", "image/jpeg"}, {".png", "image/png"},  {".gif", "image/gif"},
      {".webp", "image/webp"}, {".mp4", "video/mp4"},   {".3gp", "video/3gpp"}, {".ogg", "audio/ogg"},
      {".opus", "audio/ogg"},  {".m4a", "audio/mp4"},   {".amr", "audio/amr"},  {".pdf", "application/pdf"},
      {".txt", "text/plain"}};
  std::string lower = path;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const auto& [ext, type] : kTypes) {
    const std::string e = ext;
    if (lower.size() >= e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0) return type;
  }
  return "application/octet-stream";
}

namespace {

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int Failed(const char* what, const Status& st) {
  std::fprintf(stderr, "tern: %s: %s\n", what, st.ToString().c_str());
  return 1;
}

}  // namespace

// "\r[#########-----------]  45%  1.2 / 2.6 MB" on stderr, redrawn when the percent changes.
void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_ || total == 0) return;
  int pct = static_cast<int>(done * 100 / total);
  if (pct == last_) return;
  last_ = pct;
  char bar[31];
  int filled = pct * 30 / 100;
  for (int i = 0; i < 30; ++i) bar[i] = i < filled ? '#' : '-';
  bar[30] = '\0';
  std::fprintf(stderr, "\r%s [%s] %3d%%  %.1f / %.1f MB", verb_, bar, pct, done / 1e6, total / 1e6);
  if (done >= total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

void ProgressBar::Note(const std::string& what) {
  if (enabled_ && last_ >= 0) std::fprintf(stderr, "\n");
  std::fprintf(stderr, "tern: %s\n", what.c_str());
  last_ = -1;
}

std::string AssetsSuffix(const wire::InboxItem& it) {
  std::string out;
  for (const auto& a : it.assets) {
    out += " [asset " + std::to_string(a.asset_id) + " " + a.mime + " " + std::to_string(a.size) + " B";
    if (a.width != 0 && a.height != 0) out += " " + std::to_string(a.width) + "x" + std::to_string(a.height);
    if (a.duration_ms != 0) out += " " + std::to_string(a.duration_ms) + " ms";
    if (!a.name.empty()) out += " " + a.name;
    out += "]";
  }
  return out;
}

int RunSendFile(Client& c, uint64_t to_user, const MediaArgs& args, const BlobOptions& blob_in, int timeout_ms) {
  const std::string mime = args.mime.empty() ? GuessMime(args.file) : args.mime;
  ProgressBar bar("upload", args.progress || ::isatty(2));
  BlobOptions blob = blob_in;
  blob.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total); };
  TransferOptions t = args.Transfer(&bar);
  auto ref = UploadAsset(c, args.file, mime, t, blob);
  if (!ref.ok()) return Failed("upload", ref.status());
  ref->name = BaseName(args.file);
  Result<uint64_t> seq = c.SendMedia(args.group != 0 ? 0 : to_user, args.group, {*ref}, args.caption);
  if (!seq.ok()) return Failed("send-file", seq.status());
  Result<wire::SendAck> ack = c.WaitForAck(*seq, timeout_ms);
  if (!ack.ok()) {
    Failed("send-file", ack.status());
    std::fprintf(stderr, "tern: the message is stored and will be retried on the next run\n");
    return 1;
  }
  if (ack->status != Code::kOk) {
    std::fprintf(stderr, "tern: send refused: %s\n", CodeName(ack->status));
    return 1;
  }
  ClearUploadState(t);  // sent: nothing to resume
  std::printf("sent msg_id=%llu chat_seq=%llu asset_id=%llu\n", static_cast<unsigned long long>(ack->msg_id),
              static_cast<unsigned long long>(ack->chat_seq), static_cast<unsigned long long>(ref->asset_id));
  c.Close();
  return 0;
}

int RunDownload(Client& c, const MediaArgs& args, const BlobOptions& blob_in) {
  ProgressBar bar("download", args.progress || ::isatty(2));
  BlobOptions blob = blob_in;
  blob.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total); };
  auto ticket = DownloadAsset(c, args.asset_id, args.file, args.Transfer(&bar), blob);
  if (!ticket.ok()) return Failed("download", ticket.status());
  std::printf("downloaded %llu %llu bytes sha256 ok -> %s\n", static_cast<unsigned long long>(args.asset_id),
              static_cast<unsigned long long>(ticket->size), args.file.c_str());
  c.Close();
  return 0;
}

TransferOptions MediaArgs::Transfer(ProgressBar* bar) const {
  TransferOptions t;
  t.retries = retries;
  t.cut_after_bytes = cut_after_bytes;
  t.upload_state = upload_state;
  t.note = [bar](const std::string& what) { bar->Note(what); };
  return t;
}

}  // namespace tern::tools
