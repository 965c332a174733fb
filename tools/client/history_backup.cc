#include "tools/client/history_backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tern::tools {
namespace {

Status WriteWorkFile(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kUnavailable, "cannot write " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(path.c_str());
      return Status(Code::kUnavailable, "cannot write " + path + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return Status::Ok();
}

Result<std::string> ReadWorkFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return Status(Code::kUnavailable, "cannot read " + path);
  std::string out;
  char buf[64 * 1024];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) return Status(Code::kUnavailable, "cannot read " + path);
  return out;
}

}  // namespace

Result<BackupResult> BackupHistory(Client& c, std::string_view passphrase, const BackupOptions& o) {
  History* h = c.history();
  if (h == nullptr) return Status(Code::kInvalidArgument, "this client keeps no history");
  if (o.work_path.empty()) return Status(Code::kInvalidArgument, "no work file for the backup");
  BackupResult result;
  auto stats = h->Stats();
  if (!stats.ok()) return stats.status();
  result.stats = *stats;
  auto plain = h->Export();
  if (!plain.ok()) return plain.status();
  auto sealed = EncryptBackup(*plain, passphrase, o.kdf);
  if (!plain->empty()) std::memset(plain->data(), 0, plain->size());
  if (!sealed.ok()) return sealed.status();
  result.bytes = sealed->size();
  TERN_RETURN_IF_ERROR(WriteWorkFile(o.work_path, *sealed));
  auto ref = UploadAsset(c, o.work_path, std::string(kBackupMime), o.transfer, o.blob);
  ::unlink(o.work_path.c_str());
  if (!ref.ok()) return ref.status();
  result.asset_id = ref->asset_id;
  ref->name = "tern-history.backup";
  // Referenced by a note to myself: kept for the asset retention, not the unreferenced TTL.
  Result<uint64_t> seq = c.SendMedia(c.state().user_id, 0, {*ref}, "history backup");
  if (!seq.ok()) return seq.status();
  auto ack = c.WaitForAck(*seq, o.ack_timeout_ms);
  if (!ack.ok()) return ack.status();
  if (ack->status != Code::kOk) return Status(ack->status, "the backup's reference message was refused");
  ClearUploadState(o.transfer);
  return result;
}

Result<RestoreResult> RestoreHistory(Client& c, uint64_t asset_id, std::string_view passphrase, const BackupOptions& o) {
  History* h = c.history();
  if (h == nullptr) return Status(Code::kInvalidArgument, "this client keeps no history");
  if (o.work_path.empty()) return Status(Code::kInvalidArgument, "no work file for the backup");
  if (passphrase.empty()) return Status(Code::kInvalidArgument, "empty passphrase");
  auto ticket = DownloadAsset(c, asset_id, o.work_path, o.transfer, o.blob);
  if (!ticket.ok()) return ticket.status();
  auto sealed = ReadWorkFile(o.work_path);
  ::unlink(o.work_path.c_str());
  if (!sealed.ok()) return sealed.status();
  RestoreResult result;
  result.bytes = sealed->size();
  auto plain = DecryptBackup(*sealed, passphrase);
  if (!plain.ok()) return plain.status();
  auto imported = h->Import(*plain, c.state().user_id);
  std::memset(plain->data(), 0, plain->size());
  if (!imported.ok()) return imported.status();
  result.imported = *imported;
  return result;
}

}  // namespace tern::tools
