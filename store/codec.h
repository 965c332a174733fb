// Codec: the byte layouts under every store record and key.
//
// Keys: fixed-width big-endian integers, so memcmp order (the KvEnv key order) is numeric order
// and a key prefix (e.g. user|device) selects one contiguous range.
// Records: a leading version byte, then fields as LEB128 varints and varint-length-prefixed
// strings, in an order fixed per record type and version. Decoding is bounds-checked before any
// allocation; a truncated, overlong or otherwise malformed record is kCorrupt, never a crash.
//
// Thread safety: plain functions and single-owner value classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "wire/status.h"

namespace tern::store::codec {

// Appends `v` as fixed-width big-endian bytes.
void AppendBE16(std::string& out, uint16_t v);
void AppendBE32(std::string& out, uint32_t v);
void AppendBE64(std::string& out, uint64_t v);

// Reads a big-endian integer from `p`, which must point at >= 2/4/8 readable bytes
// (the caller checks the key length first).
uint16_t LoadBE16(const char* p);
uint32_t LoadBE32(const char* p);
uint64_t LoadBE64(const char* p);

// An 8-byte big-endian string of `v` (a common key and small-value shape).
std::string BE64(uint64_t v);
// Decodes an 8-byte big-endian value. Errors: kCorrupt if `s` is not exactly 8 bytes.
Result<uint64_t> ParseBE64(std::string_view s, const char* what);

// LEB128 varint, at most 10 bytes.
void AppendVarint(std::string& out, uint64_t v);

// Builds one record: the version byte first, then fields in call order.
class RecordWriter {
 public:
  explicit RecordWriter(uint8_t version) { out_.push_back(static_cast<char>(version)); }
  RecordWriter& U64(uint64_t v) {
    AppendVarint(out_, v);
    return *this;
  }
  RecordWriter& Str(std::string_view s) {
    AppendVarint(out_, s.size());
    out_.append(s);
    return *this;
  }
  // Moves the bytes out; the writer is empty afterwards.
  std::string Finish() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads one record. Errors are sticky: after the first failure every read returns 0 / empty
// and Finish() returns kCorrupt naming `what` (the record type) and the failing field offset.
// `data` must outlive the reader.
class RecordReader {
 public:
  RecordReader(std::string_view data, const char* what);

  // Consumes the version byte; fails unless it equals `expected`.
  RecordReader& Version(uint8_t expected);
  uint64_t U64();
  // A varint that must fit in 32 / 16 / 8 bits; larger values fail the record.
  uint32_t U32();
  uint16_t U16();
  uint8_t U8();
  std::string Str();

  bool ok() const { return ok_; }
  // True when every byte was consumed: lets a newer record version append optional fields.
  bool at_end() const { return pos_ >= data_.size(); }
  // Ok only if every read succeeded and no bytes are left over.
  Status Finish() const;

 private:
  uint64_t Bounded(uint64_t max);
  void Fail(const char* why);

  std::string_view data_;
  size_t pos_ = 0;
  const char* what_;
  const char* why_ = "";
  bool ok_ = true;
};

}  // namespace tern::store::codec
