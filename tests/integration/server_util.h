// TestServer: the real ternd (TERND_PATH) as a child process, for the integration tests.
//
// Each TestServer owns a fresh temp root (scratch space for the test: state files, ...) whose
// `data/` folder is ternd's --data. Start() runs `ternd --data <root>/data --listen
// 127.0.0.1:0 --admin-listen 127.0.0.1:0 --plain-tcp <extra flags>` (without --plain-tcp for Security::kTls: ternd's
// default, TLS 1.3 with a self-signed certificate under <data>/tls/) and waits (bounded) for `ternd listening on 127.0.0.1:PORT` on
// its stdout. Kill9() and Restart() simulate a crash and a restart on the same data folder
// (a new port). The destructor stops a running server with SIGTERM and records a test failure
// unless it exits 0 within the timeout. ternd's stderr goes to <root>/ternd.log and is
// printed when the test has failed.
//
// Thread safety: one test thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/process_util.h"
#include "tools/client/client.h"
#include "wire/status.h"

namespace tern::testing {

inline constexpr int kStartTimeoutMs = 10000;
inline constexpr int kStopTimeoutMs = 10000;

enum class Security { kPlain, kTls };

class TestServer {
 public:
  // Plain TCP unless `security` is kTls; ClientOptions() matches (TLS, pinned fingerprint).
  explicit TestServer(std::vector<std::string> extra_flags = {},
                      Security security = Security::kPlain);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // Starts ternd and waits for its listening line. Errors: kUnavailable (spawn failed or it
  // exited), kTimeout.
  Status Start();
  // SIGKILL, then reaps the process.
  Status Kill9();
  // Starts again on the same data folder (after Kill9 or Stop); the port changes.
  Status Restart() { return Start(); }
  // SIGTERM; returns the exit code (kTimeout if it does not exit in time).
  Result<int> Stop();

  uint16_t port() const { return port_; }
  // The built-in blob store's port (0 when ternd runs with an external S3 store).
  uint16_t blob_port() const { return blob_port_; }
  // <data>/blobs/credentials (AWS shared-credentials format) and <data>/tls/cert.pem.
  std::string blob_credentials_path() const { return data_dir() + "/blobs/credentials"; }
  std::string cert_path() const { return data_dir() + "/tls/cert.pem"; }
  // The admin HTTP port (/metrics, /healthz, /readyz; ternd runs with --admin-listen
  // 127.0.0.1:0), 0 when an extra flag turned it off.
  uint16_t admin_port() const { return admin_port_; }
  bool running() const { return process_ && process_->running(); }
  // ternd's pid while running (-1 otherwise), e.g. to read /proc/PID/status.
  pid_t pid() const { return running() ? process_->pid() : -1; }
  const std::string& root() const { return dir_.path(); }
  std::string data_dir() const { return dir_.Sub("data"); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool tls() const { return security_ == Security::kTls; }
  // The certificate's SHA-256 fingerprint (<data>/tls/cert.sha256; TLS servers, after Start).
  std::string fingerprint() const;

  // The last one-time code ternd issued for `phone` (from <data>/otp.log).
  // Errors: kNotFound.
  Result<std::string> CodeFor(const std::string& phone) const;
  // `ternd --data <data> --stats`, parsed: key -> number. Errors: kInternal (bad exit/output).
  Result<std::map<std::string, uint64_t>> Stats() const;

  // Options for a client of this server (in-memory state unless state_path is given); for a
  // TLS server: tls.enabled with the fingerprint pinned (ticket next to state_path).
  tools::Client::Options ClientOptions(const std::string& state_path = "") const;

 private:
  std::vector<std::string> extra_flags_;
  Security security_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  uint16_t port_ = 0;
  uint16_t blob_port_ = 0;
  uint16_t admin_port_ = 0;
  int starts_ = 0;
};

}  // namespace tern::testing
