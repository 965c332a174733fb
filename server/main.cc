// ternd: the Tern server. Parses settings, opens the store under the data folder, and runs the
// core on a libuv loop until SIGTERM/SIGINT (then finishes the commit in flight, says goodbye to
// clients and exits 0). `ternd --data DIR --stats` prints the store's statistics and exits.
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "server/asset_service.h"
#include "server/log.h"
#include "server/blob_setup.h"
#include "server/commit_fault_env.h"
#include "server/config.h"
#include "server/core.h"
#include "server/dev_code_sink.h"
#include "server/metrics.h"
#include "server/tls_context.h"
#include "server/uv_blob_server.h"
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
  tern::server::Log(tern::server::LogLevel::kError, "fatal").Err(s);
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
  server::SetLogLevel(server::ParseLogLevel(config.log_level).value());  // validated by ParseCommandLine
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
      server::Log(server::LogLevel::kInfo, "tls_cert_created").Kv("path", tls->cert_path());
    // Clients pin this (tern --pin ...); it is also in <data>/tls/cert.sha256.
    std::printf("ternd TLS certificate %s sha256 fingerprint %s\n", tls->cert_path().c_str(),
                tls->fingerprint().c_str());
  } else {
    server::Log(server::LogLevel::kWarn, "plain_tcp").Kv("note", "connections are NOT encrypted (--plain-tcp)");
  }
  // Media: the built-in blob store on its own port and thread, or an external S3 endpoint.
  std::unique_ptr<tern::server::blob::FileStore> files;
  std::unique_ptr<server::TlsServerContext> blob_tls;
  std::unique_ptr<server::UvBlobServer> blob_server;
  std::unique_ptr<server::FileStoreRemover> remover;
  server::BlobEndpoint endpoint;
  if (config.s3_endpoint.empty()) {
    auto opened_files = tern::server::blob::FileStore::Open(config.data_dir + "/blobs");
    if (!opened_files.ok()) return Fail(opened_files.status());
    files = std::move(opened_files).value();
    auto creds = server::LoadOrCreateBlobCredentials(config, config.data_dir + "/blobs/credentials", entropy);
    if (!creds.ok()) return Fail(creds.status());
    tern::server::blob::BlobOptions bo;
    bo.credentials = *creds;
    bo.bucket = config.blob_bucket;
    bo.max_object_bytes = config.blob_max_object_bytes;
    bo.max_header_bytes = config.blob_max_header_bytes;
    bo.header_timeout_ms = config.blob_header_timeout_ms;
    bo.idle_timeout_ms = config.blob_idle_timeout_ms;
    if (tls) {
      server::TlsServerOptions to = tls->options();
      to.cert_path = tls->cert_path();
      if (to.key_path.empty()) to.key_path = to.dir + "/key.pem";
      to.alpn = "http/1.1";
      to.max_early_data = 0;  // HTTP requests are not replay-safe
      to.ticket_keys_file = "blob_ticket_keys";
      auto t = server::TlsServerContext::Create(to);
      if (!t.ok()) return Fail(t.status());
      blob_tls = std::move(t).value();
    }
    blob_server = std::make_unique<server::UvBlobServer>(bo, *files, blob_tls.get(), config.blob_listen,
                                                         config.blob_max_connections);
    if (Status s = blob_server->Start(); !s.ok()) return Fail(s);
    endpoint.base_url = config.blob_public_url.empty()
                            ? std::string(tls ? "https://" : "http://") + blob_server->bound_address()
                            : config.blob_public_url;
    while (!endpoint.base_url.empty() && endpoint.base_url.back() == '/') endpoint.base_url.pop_back();
    endpoint.bucket = config.blob_bucket;
    endpoint.credentials = *creds;
    remover = std::make_unique<server::FileStoreRemover>(*files);
    std::printf("ternd blob store listening on %s (%s, bucket %s, credentials %s/blobs/credentials)\n",
                blob_server->bound_address().c_str(), tls ? "https" : "http", config.blob_bucket.c_str(),
                config.data_dir.c_str());
  } else {
    endpoint = server::ExternalEndpoint(config);
    std::printf("ternd media in external store %s bucket %s\n", endpoint.base_url.c_str(), endpoint.bucket.c_str());
  }
  server::AssetService assets(server::AssetSettingsFrom(config), endpoint, remover.get());
  server::Core core(config, *env, entropy, sink, &assets);

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
    server::Log(server::LogLevel::kInfo, "started").Kv("data", config.data_dir).Kv("listen", srv.bound_address());
    std::printf("ternd listening on %s\n", srv.bound_address().c_str());
    std::fflush(stdout);
    rc = srv.Run();
  }
  if (blob_server) blob_server->Stop();
  server::Log(rc == 0 ? server::LogLevel::kInfo : server::LogLevel::kWarn, "stopped").Kv("clean", rc == 0 ? "yes" : "no (handles left open)");
  return rc;
}
