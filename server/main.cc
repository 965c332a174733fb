// ternd: the Tern server. Parses settings, opens the store under the data folder, and runs the
// core on a libuv loop until SIGTERM/SIGINT (then finishes the commit in flight, says goodbye to
// clients and exits 0). `ternd --data DIR --stats` prints the store's statistics and exits.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "server/commit_fault_env.h"
#include "server/config.h"
#include "server/core.h"
#include "server/dev_code_sink.h"
#include "server/metrics.h"
#include "server/tls_context.h"
#include "server/uv_admin.h"
#include "server/uv_server.h"
#include "store/accounts.h"
#include "store/dir_lock.h"
#include "store/lmdb_env.h"
#include "store/mailbox.h"

namespace {

using tern::Status;
namespace server = tern::server;
namespace store = tern::store;

int Fail(const Status& s) {
  std::fprintf(stderr, "ternd: error: %s\n", s.ToString().c_str());
  return 1;
}

int PrintStats(store::KvEnv& env) {
  auto kv = env.Stats();
  if (!kv.ok()) return Fail(kv.status());
  auto txn = env.Begin(false);
  if (!txn.ok()) return Fail(txn.status());
  auto mb = store::Mailbox(*txn.value()).Stats();
  if (!mb.ok()) return Fail(mb.status());
  auto entries = [&](store::Table t) { return static_cast<unsigned long long>(kv->entries[static_cast<size_t>(t)]); };
  std::printf(
      "{\"messages\":%llu,\"queue_items\":%llu,\"refs\":%llu,\"expiry_entries\":%llu,\"users\":%llu,"
      "\"devices\":%llu,\"groups\":%llu,\"map_bytes\":%llu,\"used_bytes\":%llu}\n",
      static_cast<unsigned long long>(mb->messages), static_cast<unsigned long long>(mb->queue_items),
      static_cast<unsigned long long>(mb->refs), static_cast<unsigned long long>(mb->expiry_entries),
      entries(store::Table::kUsers), entries(store::Table::kDevices), entries(store::Table::kGroups),
      static_cast<unsigned long long>(kv->map_size), static_cast<unsigned long long>(kv->used_bytes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that vanished turns a write into EPIPE (handled per connection), not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  auto cl = server::ParseCommandLine(argc, argv);
  if (!cl.ok()) {
    bool help = cl.status().message().find("Usage") != std::string::npos;
    std::fprintf(help ? stdout : stderr, "%s\n", cl.status().message().c_str());
    return help ? 0 : 2;
  }
  if (cl->print_default_config) {
    std::fputs(server::DefaultConfigText().c_str(), stdout);
    return 0;
  }
  const server::Config& config = cl->config;
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Fail(Status(tern::Code::kUnavailable, "cannot create " + config.data_dir + ": " + ec.message()));

  // One ternd per data folder (also keeps tern-admin's writing commands out while it runs);
  // --stats only reads and may run next to a live server.
  std::unique_ptr<store::DirLock> lock;
  if (!cl->stats_only) {
    auto locked = store::DirLock::Acquire(config.data_dir);
    if (!locked.ok()) return Fail(locked.status());
    lock = std::move(locked).value();
  }

  store::LmdbOptions lo;
  lo.dir = config.data_dir + "/store";
  lo.initial_map_bytes = config.store_initial_map_mb << 20;
  lo.max_map_bytes = config.store_max_map_mb << 20;
  auto opened = store::OpenLmdbEnv(lo);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<store::KvEnv> env = std::move(opened.value());
  if (cl->stats_only) return PrintStats(*env);
  if (config.test_fail_commits_after > 0) env = server::WrapCommitFault(std::move(env), config.test_fail_commits_after);

  server::SystemEntropy entropy;
  server::DevCodeSink sink(config.data_dir + "/otp.log");
  server::Core core(config, *env, entropy, sink);
  std::unique_ptr<server::TlsServerContext> tls;
  if (!config.plain_tcp) {
    server::TlsServerOptions to;
    to.dir = config.data_dir + "/tls";
    to.cert_path = config.tls_cert;
    to.key_path = config.tls_key;
    to.ticket_lifetime_s = config.tls_ticket_lifetime_s;
    to.ticket_rotate_s = config.tls_ticket_rotate_s;
    to.max_early_data = config.tls_max_early_data;
    to.max_preauth_frame = config.max_preauth_frame_bytes;
    auto t = server::TlsServerContext::Create(to);
    if (!t.ok()) return Fail(t.status());
    tls = std::move(t).value();
    if (tls->created_certificate())
      std::fprintf(stderr, "ternd: created a self-signed TLS certificate: %s\n", tls->cert_path().c_str());
    // Clients pin this (tern --pin ...); it is also in <data>/tls/cert.sha256.
    std::printf("ternd TLS certificate %s sha256 fingerprint %s\n", tls->cert_path().c_str(),
                tls->fingerprint().c_str());
  } else {
    std::fprintf(stderr, "ternd: warning: plain TCP (--plain-tcp): connections are NOT encrypted\n");
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  int rc;
  {
    server::UvServer srv(config, core, &loop, tls.get());
    if (Status s = srv.Listen(); !s.ok()) return Fail(s);
    std::unique_ptr<server::UvAdmin> admin;
    if (!config.admin_listen.empty()) {
      server::UvAdmin::Handlers h;
      h.not_ready = [&]() -> std::string {
        if (srv.stopping()) return "stopping";
        if (!core.stats().last_commit_ok) return "the last store commit failed";
        auto read = env->Begin(false);
        if (!read.ok()) return "store: " + read.status().ToString();
        return "";
      };
      h.metrics = [&, not_ready = h.not_ready] {
        server::MetricsSnapshot m;
        m.core = core.stats();
        m.traffic = core.traffic();
        m.uv = srv.stats();
        m.connections = srv.connection_count();
        if (auto kv = env->Stats(); kv.ok()) m.queued_items = kv->entries[static_cast<size_t>(store::Table::kQueue)];
        m.ready = not_ready().empty();
        return server::RenderMetrics(m);
      };
      admin = std::make_unique<server::UvAdmin>(config, &loop, std::move(h));
      if (Status s = admin->Listen(); !s.ok()) return Fail(s);
      srv.set_on_stop([&admin] { admin->Close(); });
      std::printf("ternd admin listening on %s (/metrics /healthz /readyz)\n", admin->bound_address().c_str());
    }
    std::fprintf(stderr, "ternd: data in %s\n", config.data_dir.c_str());
    std::printf("ternd listening on %s\n", srv.bound_address().c_str());
    std::fflush(stdout);
    rc = srv.Run();
  }
  std::fprintf(stderr, "ternd: stopped (%s)\n", rc == 0 ? "clean" : "handles left open");
  return rc;
}
