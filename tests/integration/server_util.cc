#include "tests/integration/server_util.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

namespace tern::testing {
namespace {

constexpr std::string_view kListening = "ternd listening on 127.0.0.1:";
constexpr std::string_view kBlobListening = "ternd blob store listening on 127.0.0.1:";
constexpr std::string_view kAdminListening = "ternd admin listening on 127.0.0.1:";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TestServer::TestServer(std::vector<std::string> extra_flags, Security security)
    : extra_flags_(std::move(extra_flags)), security_(security) {}

TestServer::~TestServer() {
  if (running()) {
    Result<int> rc = Stop();
    EXPECT_TRUE(rc.ok()) << "ternd did not stop on SIGTERM: " << rc.status().ToString();
    if (rc.ok()) {
      EXPECT_EQ(*rc, 0) << "ternd exit code after SIGTERM";
    }
  }
  if (::testing::Test::HasFailure()) {
    std::string log = ReadFile(dir_.Sub("ternd.log"));
    if (log.size() > 8000) log = "...\n" + log.substr(log.size() - 8000);
    std::fprintf(stderr, "---- ternd.log (%s) ----\n%s---- end ternd.log ----\n",
                 dir_.path().c_str(), log.c_str());
  }
}

Status TestServer::Start() {
  if (running()) return Status(Code::kInternal, "ternd is already running");
  std::vector<std::string> argv = {TERND_PATH, "--data", data_dir(), "--listen", "127.0.0.1:0",
                                   "--blob-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"};
  if (security_ == Security::kPlain) argv.push_back("--plain-tcp");
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  auto child = ChildProcess::Spawn(argv, dir_.Sub("ternd.log"));
  if (!child.ok()) return child.status();
  process_ = std::move(child).value();
  ++starts_;
  Result<std::string> line = process_->WaitForLine(
      [](const std::string& l) { return l.rfind(kListening, 0) == 0; }, kStartTimeoutMs);
  if (!line.ok()) {
    return Status(line.status().code(),
                  "ternd did not report listening: " + line.status().message());
  }
  port_ = static_cast<uint16_t>(std::stoi(line->substr(kListening.size())));
  // Printed before the chat listener's line, so it is already there (or never comes).
  Result<std::string> blob = process_->WaitForLine(
      [](const std::string& l) { return l.rfind(kBlobListening, 0) == 0; }, 0);
  blob_port_ = blob.ok() ? static_cast<uint16_t>(std::stoi(blob->substr(kBlobListening.size()))) : 0;
  // The admin line comes first (ternd prints it before the listening line).
  admin_port_ = 0;
  std::istringstream out(process_->output());
  for (std::string l; std::getline(out, l);)
    if (l.rfind(kAdminListening, 0) == 0) admin_port_ = static_cast<uint16_t>(std::stoi(l.substr(kAdminListening.size())));
  return Status::Ok();
}

Status TestServer::Kill9() {
  if (!running()) return Status(Code::kInternal, "ternd is not running");
  process_->Signal(SIGKILL);
  Result<int> rc = process_->Wait(kStopTimeoutMs);
  return rc.ok() ? Status::Ok() : rc.status();
}

Result<int> TestServer::Stop() {
  if (!running()) return Status(Code::kInternal, "ternd is not running");
  process_->Signal(SIGTERM);
  return process_->Wait(kStopTimeoutMs);
}

Result<std::string> TestServer::CodeFor(const std::string& phone) const {
  std::istringstream in(ReadFile(data_dir() + "/otp.log"));
  std::string line, code;
  while (std::getline(in, line)) {
    if (line.rfind(phone + " ", 0) == 0) code = line.substr(phone.size() + 1);
  }
  if (code.empty()) return Status(Code::kNotFound, "no code for " + phone + " in otp.log");
  return code;
}

Result<std::map<std::string, uint64_t>> TestServer::Stats() const {
  ProcessResult r = RunProcess({TERND_PATH, "--data", data_dir(), "--stats"}, 10000);
  if (r.exit_code != 0) {
    return Status(Code::kInternal, "ternd --stats exited " + std::to_string(r.exit_code) +
                                       ": " + r.err);
  }
  // One flat JSON object of numbers: {"key":n,...}
  std::map<std::string, uint64_t> out;
  size_t pos = 0;
  while ((pos = r.out.find('"', pos)) != std::string::npos) {
    size_t end = r.out.find('"', pos + 1);
    if (end == std::string::npos || end + 1 >= r.out.size() || r.out[end + 1] != ':') break;
    std::string key = r.out.substr(pos + 1, end - pos - 1);
    out[key] = std::stoull(r.out.substr(end + 2));
    pos = end + 2;
  }
  if (out.empty()) return Status(Code::kInternal, "unparseable stats: " + r.out);
  return out;
}

tools::Client::Options TestServer::ClientOptions(const std::string& state_path) const {
  tools::Client::Options o;
  o.host = "127.0.0.1";
  o.port = port_;
  o.state_path = state_path;
  o.io_timeout_ms = 5000;
  if (tls()) {
    o.tls.enabled = true;
    o.tls.pin_sha256 = fingerprint();
  }
  return o;
}

std::string TestServer::fingerprint() const {
  std::string fp = ReadFile(data_dir() + "/tls/cert.sha256");
  while (!fp.empty() && (fp.back() == '\n' || fp.back() == ' ')) fp.pop_back();
  return fp;
}

}  // namespace tern::testing
