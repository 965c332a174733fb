#include "server/blob/file_store.h"
#include "wire/hex.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tern::server::blob {
namespace {

std::string HexOf(const unsigned char* p, size_t n) {
  return HexLower(std::string_view(reinterpret_cast<const char*>(p), n));
}

Status Errno(const std::string& what) {
  int e = errno;
  return Status(e == ENOSPC || e == EDQUOT ? Code::kNoSpace : Code::kUnavailable, what + ": " + std::strerror(e));
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("fsync " + dir);
}

uint64_t ReadTotal(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[24] = {};
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  return std::strtoull(buf, nullptr, 10);
}

}  // namespace

ObjectReader::~ObjectReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> ObjectReader::Read(uint64_t offset, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd_, out.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("read object");
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

Upload::~Upload() {
  if (fd_ >= 0) ::close(fd_);
  if (md_ != nullptr) EVP_MD_CTX_free(md_);
}

Status Upload::Append(std::string_view bytes) {
  if (bytes.size() > total_ - landed_) return Status(Code::kInvalidArgument, "body beyond the declared total");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Errno("write part");
    done += static_cast<size_t>(w);
  }
  EVP_DigestUpdate(md_, bytes.data(), bytes.size());
  landed_ += bytes.size();
  return Status::Ok();
}

Result<std::string> Upload::Finish(const std::optional<std::string>& expected_sha256) {
  if (landed_ != total_) return Status(Code::kInvalidArgument, "upload incomplete");
  unsigned char md[SHA256_DIGEST_LENGTH];
  unsigned int n = 0;
  EVP_DigestFinal_ex(md_, md, &n);
  if (expected_sha256 && (expected_sha256->size() != n || std::memcmp(expected_sha256->data(), md, n) != 0)) {
    ::unlink(part_.c_str());
    ::unlink((part_ + ".total").c_str());
    return Status(Code::kForbidden, "the body's SHA-256 does not match the declared one");
  }
  if (::fsync(fd_) != 0) return Errno("fsync part");
  ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  std::filesystem::create_directories(object_dir_, ec);
  if (ec) return Status(Code::kUnavailable, "mkdir " + object_dir_ + ": " + ec.message());
  if (::rename(part_.c_str(), object_.c_str()) != 0) return Errno("rename part");
  ::unlink((part_ + ".total").c_str());
  TERN_RETURN_IF_ERROR(SyncDir(object_dir_));
  return HexOf(md, n);
}

Result<std::unique_ptr<FileStore>> FileStore::Open(const std::string& root) {
  std::error_code ec;
  std::filesystem::create_directories(root + "/objects", ec);
  if (!ec) std::filesystem::create_directories(root + "/parts", ec);
  if (ec) return Status(Code::kUnavailable, "cannot create " + root + ": " + ec.message());
  return std::unique_ptr<FileStore>(new FileStore(root));
}

std::string FileStore::Hash(std::string_view name) const {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), md);
  return HexOf(md, sizeof md);
}

std::string FileStore::ObjectPath(const std::string& h) const {
  return root_ + "/objects/" + h.substr(0, 2) + "/" + h;
}

Result<std::unique_ptr<ObjectReader>> FileStore::OpenRead(std::string_view name) {
  const std::string path = ObjectPath(Hash(name));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status(Code::kNotFound, "no such object");
    return Errno("open object");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("stat object");
    ::close(fd);
    return s;
  }
  return std::make_unique<ObjectReader>(fd, static_cast<uint64_t>(st.st_size));
}

bool FileStore::Exists(std::string_view name) const {
  struct stat st {};
  return ::stat(ObjectPath(Hash(name)).c_str(), &st) == 0;
}

uint64_t FileStore::Landed(std::string_view name, uint64_t total) const {
  const std::string part = PartPath(Hash(name));
  if (ReadTotal(part + ".total") != total) return 0;
  struct stat st {};
  if (::stat(part.c_str(), &st) != 0) return 0;
  return std::min<uint64_t>(static_cast<uint64_t>(st.st_size), total);
}

Result<std::unique_ptr<Upload>> FileStore::BeginUpload(std::string_view name, uint64_t total, uint64_t offset) {
  const std::string h = Hash(name);
  std::unique_ptr<Upload> u(new Upload);
  u->part_ = PartPath(h);
  u->object_ = ObjectPath(h);
  u->object_dir_ = root_ + "/objects/" + h.substr(0, 2);
  u->total_ = total;
  if (offset != Landed(name, total)) return Status(Code::kInvalidArgument, "offset is not where the upload ends");
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0);
  u->fd_ = ::open(u->part_.c_str(), flags, 0600);
  if (u->fd_ < 0) return Errno("open part");
  if (offset == 0) {
    // The declared total goes next to the part, so a later resume knows what it continues.
    std::string t = std::to_string(total);
    int fd = ::open((u->part_ + ".total").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("open part total");
    bool ok = ::write(fd, t.data(), t.size()) == static_cast<ssize_t>(t.size());
    ::close(fd);
    if (!ok) return Errno("write part total");
  }
  // The part may be longer than `offset` if an earlier writer died mid-write: cut it there.
  if (::ftruncate(u->fd_, static_cast<off_t>(offset)) != 0) return Errno("truncate part");
  u->md_ = EVP_MD_CTX_new();
  EVP_DigestInit_ex(u->md_, EVP_sha256(), nullptr);
  // Re-hash what landed before (a resume): costs one read of the prefix, keeps no state on disk.
  std::string buf(1 << 16, '\0');
  for (uint64_t pos = 0; pos < offset;) {
    ssize_t r = ::pread(u->fd_, buf.data(), std::min<uint64_t>(buf.size(), offset - pos), static_cast<off_t>(pos));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Errno("re-read part");
    EVP_DigestUpdate(u->md_, buf.data(), static_cast<size_t>(r));
    pos += static_cast<uint64_t>(r);
  }
  if (::lseek(u->fd_, static_cast<off_t>(offset), SEEK_SET) < 0) return Errno("seek part");
  u->landed_ = offset;
  return u;
}

Status FileStore::Delete(std::string_view name) {
  const std::string h = Hash(name);
  Status st = Status::Ok();
  for (const std::string& p : {ObjectPath(h), PartPath(h), PartPath(h) + ".total"})
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) st = Errno("unlink " + p);
  return st;
}

}  // namespace tern::server::blob
