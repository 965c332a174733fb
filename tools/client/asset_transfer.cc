#include "tools/client/asset_transfer.h"
#include "wire/hex.h"

#include <sys/stat.h>

#include <cstdio>

namespace tern::tools {
namespace {

// The unfinished upload remembered across runs: "asset_id size sha256_hex path".
struct SavedUpload {
  uint64_t asset_id = 0;
  uint64_t size = 0;
  std::string sha_hex, path;
};

std::string HexOf(const std::string& raw) { return HexLower(raw); }

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

void Note(const TransferOptions& t, const std::string& what) {
  if (t.note) t.note(what);
}

}  // namespace

void ClearUploadState(const TransferOptions& t) {
  if (!t.upload_state.empty()) std::remove(t.upload_state.c_str());
}

Result<PreparedUpload> PrepareUpload(Client& c, const std::string& file, const std::string& mime,
                                     const TransferOptions& t) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return Status(Code::kNotFound, "cannot read " + file);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  auto sha = Sha256File(file);
  if (!sha.ok()) return sha.status();
  // The same file left unfinished by an earlier run: renew its URL and continue that asset.
  Result<wire::AssetTicket> ticket = Status(Code::kNotFound, "no earlier upload");
  const SavedUpload saved = LoadUpload(t.upload_state);
  if (saved.asset_id != 0 && saved.size == size && saved.sha_hex == HexOf(*sha) && saved.path == file) {
    ticket = c.GetUploadTicket(size, mime, *sha, saved.asset_id);
    if (ticket.ok()) Note(t, "resuming the upload of asset " + std::to_string(saved.asset_id));
  }
  if (!ticket.ok()) ticket = c.GetUploadTicket(size, mime, *sha);  // expired or none: a new asset
  if (!ticket.ok()) return ticket.status();
  SaveUpload(t.upload_state, SavedUpload{ticket->asset_id, size, HexOf(*sha), file});
  PreparedUpload up;
  up.ticket = std::move(ticket).value();
  up.file = file;
  up.ref.asset_id = up.ticket.asset_id;
  up.ref.size = size;
  up.ref.mime = mime;
  up.ref.sha256 = *sha;
  return up;
}

Status TransferUpload(const PreparedUpload& up, const TransferOptions& t, const BlobOptions& blob_in) {
  BlobOptions blob = blob_in;
  BlobHeaders headers;
  for (const auto& h : up.ticket.headers) headers.emplace_back(h.name, h.value);
  Status last = Status::Ok();
  for (int attempt = 0; attempt <= t.retries; ++attempt) {
    blob.cut_after_bytes = attempt == 0 ? t.cut_after_bytes : 0;
    auto sent = UploadFile(up.ticket.url, headers, up.file, up.ref.size, blob);
    if (sent.ok()) return Status::Ok();
    last = sent.status();
    if (!Retryable(last)) return last;
    Note(t, "upload interrupted (" + last.message() + "); resuming");
  }
  return last;
}

Result<wire::AssetRef> UploadAsset(Client& c, const std::string& file, const std::string& mime,
                                   const TransferOptions& t, const BlobOptions& blob) {
  Result<PreparedUpload> up = PrepareUpload(c, file, mime, t);
  if (!up.ok()) return up.status();
  if (Status st = TransferUpload(*up, t, blob); !st.ok()) return st;
  return up->ref;
}

Status TransferDownload(const wire::AssetTicket& ticket, const std::string& dest, const TransferOptions& t,
                        const BlobOptions& blob_in) {
  BlobOptions blob = blob_in;
  Status last = Status::Ok();
  for (int attempt = 0; attempt <= t.retries; ++attempt) {
    blob.cut_after_bytes = attempt == 0 ? t.cut_after_bytes : 0;
    auto got = DownloadFile(ticket.url, dest, ticket.size, ticket.sha256, blob);
    if (got.ok()) return Status::Ok();
    last = got.status();
    if (!Retryable(last)) return last;
    Note(t, "download interrupted (" + last.message() + "); resuming");
  }
  return last;
}

Result<wire::AssetTicket> DownloadAsset(Client& c, uint64_t asset_id, const std::string& dest,
                                        const TransferOptions& t, const BlobOptions& blob_in) {
  BlobOptions blob = blob_in;
  Status last = Status::Ok();
  for (int attempt = 0; attempt <= t.retries; ++attempt) {
    // A fresh ticket per attempt: download URLs are cheap and this one may have expired.
    auto ticket = c.GetDownloadTicket(asset_id);
    if (!ticket.ok()) return ticket.status();
    blob.cut_after_bytes = attempt == 0 ? t.cut_after_bytes : 0;
    auto got = DownloadFile(ticket->url, dest, ticket->size, ticket->sha256, blob);
    if (got.ok()) return std::move(ticket).value();
    last = got.status();
    if (!Retryable(last)) return last;
    Note(t, "download interrupted (" + last.message() + "); resuming");
  }
  return last;
}

}  // namespace tern::tools
