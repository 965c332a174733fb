// FileStore: the built-in blob store's objects on local disk.
//
// Layout under `root` (<data>/blobs):
//   objects/<h[0:2]>/<h>   a complete object; h = hex SHA-256 of its name ("bucket/key")
//   parts/<h>              an upload in progress (bytes landed so far, in order)
//   parts/<h>.total        its declared total size (decimal)
// File names are digests of object names, so no name (whatever its dots, slashes or escapes)
// can reach a path outside the store. An object becomes visible only after its bytes were
// checked (size, optional SHA-256), fsync'd, and renamed into objects/ (and the directory
// fsync'd): a reader never sees a partial or unverified object.
//
// Thread safety: one thread (the blob loop) reads and uploads; Delete may be called from any
// thread (unlink is atomic; an open reader keeps its file until it closes it).
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "wire/status.h"

namespace tern::server::blob {

// An object opened for reading. Owns the descriptor.
class ObjectReader {
 public:
  ObjectReader(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~ObjectReader();
  ObjectReader(const ObjectReader&) = delete;
  ObjectReader& operator=(const ObjectReader&) = delete;
  uint64_t size() const { return size_; }
  // Reads up to `n` bytes at `offset`. Errors: kUnavailable (IO).
  Result<std::string> Read(uint64_t offset, size_t n);

 private:
  int fd_;
  uint64_t size_;
};

// One upload: appends at the end of the part file while hashing. Owns the descriptor. Bytes
// written stay in the part file when the upload object is destroyed unfinished (resume).
class Upload {
 public:
  ~Upload();
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;
  uint64_t landed() const { return landed_; }
  uint64_t total() const { return total_; }
  // Errors: kInvalidArgument (beyond total), kUnavailable / kNoSpace (IO).
  Status Append(std::string_view bytes);
  // When landed() == total(): checks the SHA-256 (when `expected_sha256`, 32 raw bytes, is
  // given), fsyncs, renames the part into objects/ and fsyncs the directory. Returns the hex
  // SHA-256. Errors: kInvalidArgument (incomplete), kForbidden (digest mismatch: the part is
  // removed, the upload must start over), kUnavailable (IO).
  Result<std::string> Finish(const std::optional<std::string>& expected_sha256);

 private:
  friend class FileStore;
  Upload() = default;
  std::string part_, object_, object_dir_;
  int fd_ = -1;
  uint64_t landed_ = 0, total_ = 0;
  EVP_MD_CTX* md_ = nullptr;
};

class FileStore {
 public:
  // Creates root/objects and root/parts. Errors: kUnavailable.
  static Result<std::unique_ptr<FileStore>> Open(const std::string& root);

  // Errors: kNotFound (no complete object), kUnavailable.
  Result<std::unique_ptr<ObjectReader>> OpenRead(std::string_view name);
  bool Exists(std::string_view name) const;
  // Bytes landed for an upload of `name` declared with `total` bytes (0 when none, or when an
  // earlier upload declared another total).
  uint64_t Landed(std::string_view name, uint64_t total) const;
  // Opens the upload of `name` (total bytes) to continue at `offset`, which must equal
  // Landed(name, total) (0 starts over: any earlier part is truncated). Re-hashes the bytes
  // already landed. Errors: kInvalidArgument (offset is not where the part ends),
  // kUnavailable.
  Result<std::unique_ptr<Upload>> BeginUpload(std::string_view name, uint64_t total, uint64_t offset);
  // Removes the object and any upload in progress. Absent is ok. Errors: kUnavailable.
  Status Delete(std::string_view name);

  const std::string& root() const { return root_; }

 private:
  explicit FileStore(std::string root) : root_(std::move(root)) {}
  std::string Hash(std::string_view name) const;
  std::string ObjectPath(const std::string& h) const;
  std::string PartPath(const std::string& h) const { return root_ + "/parts/" + h; }

  std::string root_;
};

}  // namespace tern::server::blob
