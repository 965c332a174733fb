#include "tools/tern_media.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace tern::tools {
namespace {

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

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "\r[#########-----------]  45%  1.2 / 2.6 MB" on stderr, redrawn when the percent changes.
class ProgressBar {
 public:
  ProgressBar(const char* verb, bool enabled) : verb_(verb), enabled_(enabled) {}
  void Update(uint64_t done, uint64_t total) {
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
  void Note(const std::string& what) {
    if (enabled_) std::fprintf(stderr, "\n");
    std::fprintf(stderr, "tern: %s\n", what.c_str());
    last_ = -1;
  }

 private:
  const char* verb_;
  bool enabled_;
  int last_ = -1;
};

// The unfinished upload remembered across runs: "asset_id size sha256_hex path".
struct SavedUpload {
  uint64_t asset_id = 0;
  uint64_t size = 0;
  std::string sha_hex, path;
};

std::string HexOf(const std::string& raw) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : raw) {
    out.push_back(kHex[ch >> 4]);
    out.push_back(kHex[ch & 15]);
  }
  return out;
}

SavedUpload LoadUpload(const std::string& file) {
  SavedUpload u;
  if (file.empty()) return u;
  FILE* f = std::fopen(file.c_str(), "r");
  if (f == nullptr) return u;
  unsigned long long id = 0, size = 0;
  char sha[65] = "", path[4097] = "";
  if (std::fscanf(f, "%llu %llu %64s %4096[^\n]", &id, &size, sha, path) == 4) {
    u.asset_id = id;
    u.size = size;
    u.sha_hex = sha;
    u.path = path;
  }
  std::fclose(f);
  return u;
}

void SaveUpload(const std::string& file, const SavedUpload& u) {
  if (file.empty()) return;
  const std::string tmp = file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return;
  std::fprintf(f, "%llu %llu %s %s\n", static_cast<unsigned long long>(u.asset_id),
               static_cast<unsigned long long>(u.size), u.sha_hex.c_str(), u.path.c_str());
  std::fclose(f);
  std::rename(tmp.c_str(), file.c_str());
}

bool Retryable(const Status& s) { return s.code() == Code::kUnavailable || s.code() == Code::kTimeout; }

int Failed(const char* what, const Status& st) {
  std::fprintf(stderr, "tern: %s: %s\n", what, st.ToString().c_str());
  return 1;
}

}  // namespace

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
  struct stat st {};
  if (::stat(args.file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return Failed("send-file", Status(Code::kNotFound, "cannot read " + args.file));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  auto sha = Sha256File(args.file);
  if (!sha.ok()) return Failed("send-file", sha.status());
  const std::string mime = args.mime.empty() ? GuessMime(args.file) : args.mime;
  // The same file left unfinished by an earlier run: renew its URL and continue that asset.
  Result<wire::AssetTicket> ticket = Status(Code::kNotFound, "no earlier upload");
  const SavedUpload saved = LoadUpload(args.upload_state);
  if (saved.asset_id != 0 && saved.size == size && saved.sha_hex == HexOf(*sha) && saved.path == args.file) {
    ticket = c.GetUploadTicket(size, mime, *sha, saved.asset_id);
    if (ticket.ok()) std::fprintf(stderr, "tern: resuming the upload of asset %llu\n",
                                  static_cast<unsigned long long>(saved.asset_id));
  }
  if (!ticket.ok()) ticket = c.GetUploadTicket(size, mime, *sha);  // expired or none: a new asset
  if (!ticket.ok()) return Failed("upload ticket", ticket.status());
  SaveUpload(args.upload_state, SavedUpload{ticket->asset_id, size, HexOf(*sha), args.file});

  ProgressBar bar("upload", args.progress || ::isatty(2));
  BlobOptions blob = blob_in;
  blob.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total); };
  BlobHeaders headers;
  for (const auto& h : ticket->headers) headers.emplace_back(h.name, h.value);
  Status last = Status::Ok();
  bool done = false;
  for (int attempt = 0; attempt <= args.retries && !done; ++attempt) {
    blob.cut_after_bytes = attempt == 0 ? args.cut_after_bytes : 0;
    auto sent = UploadFile(ticket->url, headers, args.file, size, blob);
    done = sent.ok();
    last = sent.status();
    if (!done && !Retryable(last)) return Failed("upload", last);
    if (!done) bar.Note("upload interrupted (" + last.message() + "); resuming");
  }
  if (!done) return Failed("upload", last);

  wire::AssetRef ref;
  ref.asset_id = ticket->asset_id;
  ref.size = size;
  ref.mime = mime;
  ref.sha256 = *sha;
  ref.name = BaseName(args.file);
  Result<uint64_t> seq = c.SendMedia(args.group != 0 ? 0 : to_user, args.group, {ref}, args.caption);
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
  if (!args.upload_state.empty()) std::remove(args.upload_state.c_str());  // sent: nothing to resume
  std::printf("sent msg_id=%llu chat_seq=%llu asset_id=%llu\n", static_cast<unsigned long long>(ack->msg_id),
              static_cast<unsigned long long>(ack->chat_seq), static_cast<unsigned long long>(ticket->asset_id));
  c.Close();
  return 0;
}

int RunDownload(Client& c, const MediaArgs& args, const BlobOptions& blob_in) {
  ProgressBar bar("download", args.progress || ::isatty(2));
  BlobOptions blob = blob_in;
  blob.progress = [&](uint64_t done, uint64_t total) { bar.Update(done, total); };
  Status last = Status::Ok();
  for (int attempt = 0; attempt <= args.retries; ++attempt) {
    // A fresh ticket per attempt: download URLs are cheap and this one may have expired.
    auto ticket = c.GetDownloadTicket(args.asset_id);
    if (!ticket.ok()) return Failed("download ticket", ticket.status());
    blob.cut_after_bytes = attempt == 0 ? args.cut_after_bytes : 0;
    auto got = DownloadFile(ticket->url, args.file, ticket->size, ticket->sha256, blob);
    if (got.ok()) {
      std::printf("downloaded %llu %llu bytes sha256 ok -> %s\n", static_cast<unsigned long long>(args.asset_id),
                  static_cast<unsigned long long>(ticket->size), args.file.c_str());
      c.Close();
      return 0;
    }
    last = got.status();
    if (!Retryable(last)) return Failed("download", last);
    bar.Note("download interrupted (" + last.message() + "); resuming");
  }
  return Failed("download", last);
}

}  // namespace tern::tools
