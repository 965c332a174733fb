// TernBackend: tern-loadgen's Backend for Tern, through the client SDK (tools/client/client.h;
// never server internals). Either spawns its own ternd (durable defaults, plain TCP when the
// binary has --plain-tcp, connection limits opened up for one address) on a data directory,
// or targets a running server whose one-time codes are appended to an OTP file (ternd's
// development sink writes "<phone> <code>" lines to <data>/otp.log).
//
// Users are registered with phones "+1<3-digit run id><8-digit user number>", so runs against
// the same server do not collide. Device k > 0 is linked with a link code from device 0.
//
// Thread safety: as Backend (tools/loadgen/backend.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tools/loadgen/backend.h"
#include "tools/loadgen/proc.h"

namespace tern::loadgen {

class TernBackend final : public Backend {
 public:
  struct Options {
    std::string spawn_path;  // ternd binary; empty: target `server`
    std::string data_dir;    // spawned ternd's data dir; empty: a temp dir (removed on Stop)
    std::string server;      // HOST:PORT of a running ternd (plain TCP)
    std::string otp_file;    // where that server writes one-time codes
    pid_t server_pid = 0;    // of that server, for CPU and RSS figures (0: not reported)
    std::vector<std::string> extra_args;  // appended to ternd's command line
    int io_timeout_ms = 10000;
  };
  explicit TernBackend(Options options);
  ~TernBackend() override;

  std::string name() const override { return "tern"; }
  std::string Describe() const override;
  Status Start() override;
  Status Stop() override;
  Status CrashAndRestart() override;
  bool can_crash() const override { return !options_.spawn_path.empty(); }
  pid_t server_pid() const override;
  Result<std::unique_ptr<Endpoint>> Register(uint32_t user, uint32_t device, Endpoint* primary,
                                             DeliverFn on_deliver) override;
  // One CreateGroup request with up to wire::DecodeLimits::max_items other members, then one
  // GroupChange{Add} per further member. ternd caps a group at max_group_members (default
  // 1024, creator included): over it the error says so. Returns once every device in `devices`
  // but the creator's has received a membership event of the group.
  Status CreateGroup(uint32_t group, const std::vector<uint32_t>& members, Endpoint& creator,
                     const std::vector<Endpoint*>& devices) override;

  // For TernEndpoint.
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  uint64_t user_id(uint32_t user) const;
  uint64_t group_id(uint32_t group) const;  // 0: no such group
  int io_timeout_ms() const { return options_.io_timeout_ms; }

 private:
  Status SpawnServer();
  Result<std::string> CodeFor(const std::string& phone) const;

  Options options_;
  std::string data_dir_;
  std::string scratch_;  // temp dir we created (data + log), removed on Stop
  std::vector<std::string> argv_;
  ChildProcess child_;
  std::string host_ = "127.0.0.1";
  uint16_t port_ = 0;
  unsigned run_id_ = 0;
  bool plain_flag_ = false;
  mutable std::mutex mu_;
  std::vector<uint64_t> user_ids_;   // guarded by mu_
  std::vector<uint64_t> group_ids_;  // guarded by mu_
};

}  // namespace tern::loadgen
