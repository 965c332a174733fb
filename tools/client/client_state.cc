#include "tools/client/client_state.h"
#include "wire/hex.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <type_traits>
#include <optional>

namespace tern::tools {
namespace {

constexpr std::string_view kMagic = "tern-state 1";

std::string Hex(std::string_view bytes) { return HexLower(bytes); }

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

template <typename T>
std::optional<T> ParseUint(std::string_view s, int base = 10) {
  T v{};
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Splits on single spaces.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t sp = line.find(' ', start);
    out.push_back(line.substr(start, sp == std::string_view::npos ? sp : sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  return out;
}

Status Corrupt(size_t line_no, std::string_view why) {
  return Status(Code::kCorrupt,
                "state file line " + std::to_string(line_no) + ": " + std::string(why));
}

Status Errno(std::string_view what, const std::string& path) {
  return Status(Code::kUnavailable,
                std::string(what) + " " + path + ": " + std::strerror(errno));
}

}  // namespace

std::string SerializeClientState(const ClientState& s) {
  std::string out;
  out += kMagic;
  out += '\n';
  auto put = [&out](std::string_view key, const std::string& value) {
    out += key;
    out += ' ';
    out += value;
    out += '\n';
  };
  put("user_id", std::to_string(s.user_id));
  put("device_id", std::to_string(s.device_id));
  put("token", Hex(s.token));
  put("inbox_epoch", std::to_string(s.inbox_epoch));
  put("last_inbox_seq", std::to_string(s.last_inbox_seq));
  put("next_client_seq", std::to_string(s.next_client_seq));
  put("last_acked_client_seq", std::to_string(s.last_acked_client_seq));
  for (const PendingSend& p : s.unacked) {
    // A group send appends its group id as a fifth field, a media send its asset references
    // (hex of a Send frame body holding only them) as a sixth; older lines keep their format.
    std::string line = std::to_string(p.client_seq) + " " + std::to_string(p.to_user) + " " + Hex(p.text);
    if (p.group_id != 0 || !p.assets.empty()) line += " " + std::to_string(p.group_id);
    if (!p.assets.empty()) {
      wire::Send only;
      only.assets = p.assets;
      line += " " + Hex(wire::EncodeMessage(only));
    }
    put("pending", line);
  }
  char sum[17];
  std::snprintf(sum, sizeof sum, "%016llx", static_cast<unsigned long long>(Fnv1a64(out)));
  put("checksum", sum);
  return out;
}

Result<ClientState> ParseClientState(std::string_view text) {
  size_t sum_at = text.rfind("checksum ");
  if (sum_at == std::string_view::npos || (sum_at != 0 && text[sum_at - 1] != '\n')) {
    return Status(Code::kCorrupt, "state file: no checksum line (truncated?)");
  }
  std::string_view sum_line = text.substr(sum_at + 9);
  if (sum_line.size() != 17 || sum_line.back() != '\n') {
    return Status(Code::kCorrupt, "state file: malformed checksum line");
  }
  auto sum = ParseUint<uint64_t>(sum_line.substr(0, 16), 16);
  std::string_view body = text.substr(0, sum_at);
  if (!sum || *sum != Fnv1a64(body)) {
    return Status(Code::kCorrupt, "state file: checksum mismatch");
  }

  ClientState s;
  bool seen_token = false;
  std::map<std::string_view, std::string_view> scalars;
  size_t line_no = 0;
  while (!body.empty()) {
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    ++line_no;
    if (line_no == 1) {
      if (line != kMagic) return Corrupt(line_no, "bad magic");
      continue;
    }
    std::vector<std::string_view> f = Fields(line);
    std::string_view key = f[0];
    if (key == "pending") {
      if (f.size() < 4 || f.size() > 6) return Corrupt(line_no, "pending needs 3 to 5 fields");
      auto seq = ParseUint<uint64_t>(f[1]);
      auto to = ParseUint<uint64_t>(f[2]);
      auto txt = Unhex(f[3]);
      auto group = f.size() >= 5 ? ParseUint<uint64_t>(f[4]) : std::optional<uint64_t>(0);
      if (!seq || !to || !txt || !group) return Corrupt(line_no, "bad pending record");
      std::vector<wire::AssetRef> assets;
      if (f.size() == 6) {
        auto raw = Unhex(f[5]);
        if (!raw) return Corrupt(line_no, "bad pending assets");
        auto m = wire::DecodeMessage(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw->data()), raw->size()));
        if (!m.ok() || !std::holds_alternative<wire::Send>(m.value())) return Corrupt(line_no, "bad pending assets");
        assets = std::move(std::get<wire::Send>(m.value()).assets);
      }
      if (!s.unacked.empty() && s.unacked.back().client_seq >= *seq) {
        return Corrupt(line_no, "pending records out of order");
      }
      s.unacked.push_back(PendingSend{*seq, *to, std::move(*txt), *group, std::move(assets)});
      continue;
    }
    if (f.size() != 2) return Corrupt(line_no, "expected `key value`");
    if (key == "token") {
      auto v = Unhex(f[1]);
      if (!v || seen_token) return Corrupt(line_no, "bad or duplicate token");
      s.token = std::move(*v);
      seen_token = true;
      continue;
    }
    if (scalars.count(key) != 0) return Corrupt(line_no, "duplicate key " + std::string(key));
    scalars[key] = f[1];
  }
  // Every scalar key is required; narrower fields must fit.
  auto get = [&](std::string_view key, uint64_t max, auto* out) -> bool {
    auto it = scalars.find(key);
    if (it == scalars.end()) return false;
    auto v = ParseUint<uint64_t>(it->second);
    if (!v || *v > max) return false;
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(*v);
    return true;
  };
  constexpr uint64_t k32 = UINT32_MAX, k64 = UINT64_MAX;
  if (!seen_token || scalars.size() != 6 || !get("user_id", k64, &s.user_id) ||
      !get("device_id", k32, &s.device_id) || !get("inbox_epoch", k32, &s.inbox_epoch) ||
      !get("last_inbox_seq", k64, &s.last_inbox_seq) ||
      !get("next_client_seq", k64, &s.next_client_seq) ||
      !get("last_acked_client_seq", k64, &s.last_acked_client_seq)) {
    return Status(Code::kCorrupt, "state file: missing, unknown or out-of-range keys");
  }
  if (s.next_client_seq == 0 || s.last_acked_client_seq >= s.next_client_seq ||
      (!s.unacked.empty() && s.unacked.back().client_seq >= s.next_client_seq)) {
    return Status(Code::kCorrupt, "state file: inconsistent client seq counters");
  }
  return s;
}

Result<ClientState> StateStore::Load() const {
  if (in_memory()) return ClientState{};
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ClientState{};
    return Errno("open", path_);
  }
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Errno("read", path_);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  Result<ClientState> parsed = ParseClientState(text);
  if (!parsed.ok()) {
    return Status(Code::kCorrupt, path_ + ": " + parsed.status().message());
  }
  return parsed;
}

Status StateStore::Save(const ClientState& state) {
  if (in_memory()) {
    ++saves_;
    return Status::Ok();
  }
  std::filesystem::path target(path_);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(Code::kUnavailable, "create " + dir.string() + ": " + ec.message());

  const std::string tmp = path_ + ".tmp";
  const std::string data = SerializeClientState(state);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Errno("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status st = Errno("fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    Status st = Errno("rename", tmp);
    ::unlink(tmp.c_str());
    return st;
  }
  // The rename is durable only once the directory entry is.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    int rc = ::fsync(dfd);
    ::close(dfd);
    if (rc != 0) return Errno("fsync", dir.string());
  }
  ++saves_;
  return Status::Ok();
}

}  // namespace tern::tools
