#include "store/codec.h"

#include <limits>

namespace tern::store::codec {

void AppendBE16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void AppendBE32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void AppendBE64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

uint16_t LoadBE16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

uint32_t LoadBE32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | u[i];
  return v;
}

uint64_t LoadBE64(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | u[i];
  return v;
}

std::string BE64(uint64_t v) {
  std::string s;
  s.reserve(8);
  AppendBE64(s, v);
  return s;
}

Result<uint64_t> ParseBE64(std::string_view s, const char* what) {
  if (s.size() != 8) {
    return Status(Code::kCorrupt, std::string(what) + ": expected 8 bytes, got " +
                                      std::to_string(s.size()));
  }
  return LoadBE64(s.data());
}

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

RecordReader::RecordReader(std::string_view data, const char* what) : data_(data), what_(what) {}

void RecordReader::Fail(const char* why) {
  if (ok_) {
    ok_ = false;
    why_ = why;
  }
}

RecordReader& RecordReader::Version(uint8_t expected) {
  if (!ok_) return *this;
  if (pos_ >= data_.size()) {
    Fail("empty record");
  } else if (static_cast<uint8_t>(data_[pos_]) != expected) {
    Fail("unknown record version");
  } else {
    ++pos_;
  }
  return *this;
}

uint64_t RecordReader::U64() {
  if (!ok_) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    if (pos_ >= data_.size()) {
      Fail("truncated varint");
      return 0;
    }
    const auto byte = static_cast<uint8_t>(data_[pos_++]);
    // The 10th byte may only carry the top bit of a 64-bit value.
    if (i == 9 && byte > 1) {
      Fail("varint overflows 64 bits");
      return 0;
    }
    v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) return v;
  }
  Fail("varint longer than 10 bytes");
  return 0;
}

uint64_t RecordReader::Bounded(uint64_t max) {
  const uint64_t v = U64();
  if (v > max) {
    Fail("integer out of range");
    return 0;
  }
  return v;
}

uint32_t RecordReader::U32() {
  return static_cast<uint32_t>(Bounded(std::numeric_limits<uint32_t>::max()));
}
uint16_t RecordReader::U16() {
  return static_cast<uint16_t>(Bounded(std::numeric_limits<uint16_t>::max()));
}
uint8_t RecordReader::U8() {
  return static_cast<uint8_t>(Bounded(std::numeric_limits<uint8_t>::max()));
}

std::string RecordReader::Str() {
  const uint64_t len = U64();
  if (!ok_) return {};
  // Checked against what is left before allocating: a corrupt length cannot force a huge buffer.
  if (len > data_.size() - pos_) {
    Fail("string length past end of record");
    return {};
  }
  std::string s(data_.substr(pos_, static_cast<size_t>(len)));
  pos_ += static_cast<size_t>(len);
  return s;
}

Status RecordReader::Finish() const {
  if (ok_ && pos_ == data_.size()) return Status::Ok();
  const char* why = ok_ ? "trailing bytes" : why_;
  return Status(Code::kCorrupt, std::string(what_) + " record: " + why + " at offset " +
                                    std::to_string(pos_) + " of " + std::to_string(data_.size()));
}

}  // namespace tern::store::codec
