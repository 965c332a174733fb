#include "bench/e2e_util.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tern::bench {
namespace {

constexpr std::string_view kListening = "ternd listening on 127.0.0.1:";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int64_t NowNs() { return loadgen::NowNs(); }

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

BenchDir::BenchDir() {
  Result<std::string> dir = loadgen::MakeTempDir("tern-bench");
  if (!dir.ok()) std::abort();  // no scratch space: cannot run
  path_ = *dir;
}

BenchDir::~BenchDir() { loadgen::RemoveTree(path_); }  // kept with TERN_KEEP_BENCH_DIRS

BenchServer::BenchServer(std::string ternd_path, std::vector<std::string> extra_flags, bool tls)
    : ternd_path_(std::move(ternd_path)), extra_flags_(std::move(extra_flags)), tls_(tls) {}

std::string BenchServer::fingerprint() const {
  if (!tls_) return "";
  std::string fp = ReadFile(data_dir() + "/tls/cert.sha256");
  while (!fp.empty() && (fp.back() == '\n' || fp.back() == ' ')) fp.pop_back();
  return fp;
}

Status BenchServer::Start(int timeout_ms) {
  if (child_.running()) return Status(Code::kInternal, "ternd is already running");
  // The blob and admin ports on free ports too, so benches run next to a ternd on the defaults.
  std::vector<std::string> argv = {ternd_path_, "--data", data_dir(), "--listen", "127.0.0.1:0",
                                   "--blob-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"};
  if (!tls_) argv.push_back("--plain-tcp");
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  TERN_RETURN_IF_ERROR(child_.Spawn(argv, dir_.Sub("ternd.log")));
  Result<std::string> port = child_.WaitForLine(kListening, timeout_ms);
  if (!port.ok()) return port.status();
  port_ = static_cast<uint16_t>(std::atoi(port->c_str()));
  if (port_ == 0) return Status(Code::kUnavailable, "ternd printed a bad port: " + *port);
  return Status::Ok();
}

Result<int> BenchServer::Stop(int timeout_ms) {
  if (!child_.running()) return Status(Code::kInternal, "ternd is not running");
  return child_.Signal(SIGTERM, timeout_ms);
}

Result<std::string> BenchServer::CodeFor(const std::string& phone) const {
  const std::string text = ReadFile(data_dir() + "/otp.log");
  std::string code;
  size_t pos = 0, nl;
  // Only complete lines: ternd may be appending a line for another phone right now.
  while ((nl = text.find('\n', pos)) != std::string::npos) {
    std::string_view line(text.data() + pos, nl - pos);
    if (line.size() > phone.size() && line.substr(0, phone.size()) == phone &&
        line[phone.size()] == ' ') {
      code = std::string(line.substr(phone.size() + 1));
    }
    pos = nl + 1;
  }
  if (code.empty()) return Status(Code::kNotFound, "no code for " + phone + " in otp.log");
  return code;
}

std::string BenchServer::LogTail(size_t max_bytes) const {
  std::string log = ReadFile(dir_.Sub("ternd.log"));
  if (log.size() > max_bytes) log = "...\n" + log.substr(log.size() - max_bytes);
  return log;
}

}  // namespace tern::bench
