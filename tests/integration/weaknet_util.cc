#include "tests/integration/weaknet_util.h"

#include <signal.h>

#include <fstream>
#include <sstream>

namespace tern::testing {
namespace {

constexpr std::string_view kListening = "tern-weaknet listening on 127.0.0.1:";
constexpr int kWeaknetWaitMs = 10000;

bool IsReport(const std::string& l) { return l.rfind("{\"event\":\"report\"", 0) == 0; }

// The number after "key": at or after `from`.
bool NumberAt(const std::string& s, const std::string& key, size_t from, uint64_t* out) {
  size_t pos = s.find("\"" + key + "\":", from);
  if (pos == std::string::npos) return false;
  *out = std::stoull(s.substr(pos + key.size() + 3));
  return true;
}

}  // namespace

Result<WeaknetReport> ParseWeaknetReport(const std::string& line) {
  WeaknetReport r;
  r.line = line;
  size_t up = line.find("\"up\":{");
  size_t down = line.find("\"down\":{");
  bool ok = up != std::string::npos && down != std::string::npos &&
            NumberAt(line, "connections", 0, &r.connections) &&
            NumberAt(line, "live", 0, &r.live) && NumberAt(line, "resets", 0, &r.resets) &&
            NumberAt(line, "half_opens", 0, &r.half_opens) && NumberAt(line, "cuts", 0, &r.cuts) &&
            NumberAt(line, "bytes", up, &r.up_bytes) && NumberAt(line, "stalls", up, &r.up_stalls) &&
            NumberAt(line, "dropped", up, &r.up_dropped) &&
            NumberAt(line, "bytes", down, &r.down_bytes) &&
            NumberAt(line, "stalls", down, &r.down_stalls) &&
            NumberAt(line, "dropped", down, &r.down_dropped);
  if (!ok) return Status(Code::kInvalidArgument, "not a tern-weaknet report: " + line);
  return r;
}

WeaknetProxy::WeaknetProxy(uint16_t upstream_port, std::vector<std::string> flags,
                           std::string log_path)
    : upstream_port_(upstream_port), flags_(std::move(flags)), log_path_(std::move(log_path)) {}

WeaknetProxy::~WeaknetProxy() {
  if (process_ && process_->running()) {
    process_->Signal(SIGTERM);
    process_->Wait(kWeaknetWaitMs).status().IgnoreError();  // the destructor SIGKILLs otherwise
  }
}

Status WeaknetProxy::Start() {
  std::vector<std::string> argv = {TERN_WEAKNET_PATH, "--listen", "127.0.0.1:" + std::to_string(port_), "--connect",
                                   "127.0.0.1:" + std::to_string(upstream_port_)};
  argv.insert(argv.end(), flags_.begin(), flags_.end());
  auto child = ChildProcess::Spawn(argv, log_path_);
  if (!child.ok()) return child.status();
  process_ = std::move(child).value();
  Result<std::string> line = process_->WaitForLine(
      [](const std::string& l) { return l.rfind(kListening, 0) == 0; }, kWeaknetWaitMs);
  if (!line.ok()) return line.status();
  port_ = static_cast<uint16_t>(std::stoi(line->substr(kListening.size())));
  return Status::Ok();
}

Status WeaknetProxy::Stop() {
  if (!process_ || !process_->running()) return Status::Ok();
  process_->Signal(SIGTERM);
  Result<int> rc = process_->Wait(kWeaknetWaitMs);
  reports_seen_ = 0;
  return rc.status();
}

Result<WeaknetReport> WeaknetProxy::Report() {
  if (!process_ || !process_->running()) return Status(Code::kUnavailable, "not running");
  const size_t want = ++reports_seen_;
  process_->Signal(SIGUSR1);
  size_t seen = 0;
  Result<std::string> line = process_->WaitForLine(
      [&](const std::string& l) { return IsReport(l) && ++seen == want; }, kWeaknetWaitMs);
  if (!line.ok()) return line.status();
  return ParseWeaknetReport(*line);
}

void WeaknetProxy::DropAll() {
  if (process_ && process_->running()) process_->Signal(SIGUSR2);
}

Result<uint64_t> ProcStatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::istringstream ss(line.substr(field.size() + 1));
      uint64_t kb = 0;
      ss >> kb;
      return kb;
    }
  }
  return Status(Code::kNotFound, field + " not in /proc/" + std::to_string(pid) + "/status");
}

}  // namespace tern::testing
