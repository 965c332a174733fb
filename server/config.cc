// Command line and config file parsing with CLI11 (Debian's libcli11-dev, header-only): one
// declaration per setting gives the flag, the config-file key (TOML/INI) and the --help text,
// which beats a hand-written parser. Exceptions stay inside this file (start-up only).
#include "server/config.h"

#include <CLI/CLI.hpp>

#include <sstream>

#include "server/log.h"
#include "wire/compress.h"

namespace tern::server {
namespace {

template <typename T>
void Add(CLI::App& app, const std::string& name, T& field, const std::string& help) {
  std::string dashed = name;
  for (char& ch : dashed)
    if (ch == '_') ch = '-';
  std::string names = "--" + dashed;
  if (dashed != name) names += ",--" + name;
  // The last occurrence wins (a flag after --config, or a test adding to a default flag list).
  app.add_option(names, field, help)->capture_default_str()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

}  // namespace

Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return Status(Code::kInvalidArgument, "expected host:port, got " + s);
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return Status(Code::kInvalidArgument, "bad port in " + s);
  unsigned long p = std::stoul(port);
  if (p > 65535) return Status(Code::kInvalidArgument, "port out of range in " + s);
  return std::make_pair(host, static_cast<uint16_t>(p));
}

namespace {

// Declares every flag and setting of ternd on `app`, bound to `cl`.
void Declare(CLI::App& app, CommandLine& cl) {
  Config& c = cl.config;
  app.set_config("--config", "", "read settings from a TOML/INI file (keys = setting names)");
  app.add_flag("--stats", cl.stats_only, "print store statistics as one JSON line and exit");
  app.add_flag("--print-default-config", cl.print_default_config,
               "print a config file listing every setting with its default (all commented out) and exit");
  Add(app, "listen", c.listen, "host:port of the chat listener (port 0 picks a free port)");
  Add(app, "max_connections", c.max_connections, "connections beyond this are closed at accept");
  Add(app, "max_outbound_bytes", c.max_outbound_bytes, "per-connection unwritten bytes before the peer is dropped");
  Add(app, "max_connections_per_ip", c.max_connections_per_ip, "connections from one address beyond this are closed at accept");
  Add(app, "accept_rate", c.accept_rate, "connections accepted per second (token bucket, burst one second); excess closed");
  Add(app, "admin_listen", c.admin_listen,
      "host:port of the admin HTTP port (/metrics, /healthz, /readyz); empty = off; keep it on loopback");
  Add(app, "admin_max_connections", c.admin_max_connections, "concurrent admin connections; further ones are closed");
  Add(app, "admin_max_request_bytes", c.admin_max_request_bytes, "largest admin HTTP request (request line + headers)");
  app.add_flag("--plain-tcp,--plain_tcp", c.plain_tcp, "speak plain TCP instead of TLS 1.3 (benchmarks, local tests)");
  Add(app, "tls_cert", c.tls_cert, "PEM certificate chain (default: self-signed, created under <data>/tls/)");
  Add(app, "tls_key", c.tls_key, "PEM private key of tls_cert");
  Add(app, "tls_ticket_lifetime_s", c.tls_ticket_lifetime_s, "TLS session ticket lifetime, seconds (max 604800)");
  Add(app, "tls_ticket_rotate_s", c.tls_ticket_rotate_s, "ticket key rotation period, seconds");
  Add(app, "tls_max_early_data", c.tls_max_early_data, "TLS 1.3 0-RTT bytes accepted (the Resume); 0 disables 0-RTT");
  Add(app, "log_level", c.log_level, "debug, info, warn or error: lines below it are dropped (one-time codes of the development sink only at debug)");
  Add(app, "data", c.data_dir, "data folder (LMDB store, otp.log)");
  Add(app, "node_id", c.node_id, "node id (top 16 bits of message ids)");
  Add(app, "store_initial_map_mb", c.store_initial_map_mb, "initial LMDB map size, MiB");
  Add(app, "store_max_map_mb", c.store_max_map_mb, "largest LMDB map size, MiB (grown automatically)");
  Add(app, "store_lazy_commit_ms", c.store_lazy_commit_ms,
      "writes that promise nothing durable (inbox acks, receipts) wait at most this long for the next synced commit; 0 = sync every turn");
  Add(app, "compression_dicts", c.compression_dicts,
      "compression ids the server may choose, comma-separated (empty = all this build knows; none = never compress)");
  Add(app, "max_frame_bytes", c.max_frame_bytes, "largest frame body after authentication");
  Add(app, "max_preauth_frame_bytes", c.max_preauth_frame_bytes, "largest frame body before authentication");
  Add(app, "max_preauth_frames", c.max_preauth_frames, "handshake frames allowed per connection");
  Add(app, "handshake_timeout_ms", c.handshake_timeout_ms, "close connections not authenticated by then");
  Add(app, "heartbeat_ms", c.heartbeat_ms, "heartbeat interval advertised; silent for 1.5x closes");
  Add(app, "max_text_bytes", c.max_text_bytes, "largest message text");
  Add(app, "default_inflight", c.default_inflight, "delivery window when the client asks for 0");
  Add(app, "max_inflight", c.max_inflight, "largest delivery window a client may ask for");
  Add(app, "deliver_max_items", c.deliver_max_items, "inbox items per Deliver frame");
  Add(app, "deliver_max_bytes", c.deliver_max_bytes, "text bytes per Deliver frame");
  Add(app, "queue_cap", c.queue_cap, "items per device queue; beyond it sends get queue_full");
  Add(app, "message_ttl_ms", c.message_ttl_ms, "undelivered items expire after this (default 30 days)");
  Add(app, "expiry_interval_ms", c.expiry_interval_ms, "expiry sweeper period");
  Add(app, "expiry_budget", c.expiry_budget, "messages expired per sweep");
  Add(app, "otp_ttl_ms", c.otp_ttl_ms, "one-time code lifetime");
  Add(app, "otp_resend_ms", c.otp_resend_ms, "minimum time between codes for one phone");
  Add(app, "otp_max_attempts", c.otp_max_attempts, "wrong guesses before a code is void");
  Add(app, "otp_fail_delay_ms", c.otp_fail_delay_ms,
      "after the n-th wrong code the next try waits this x 2^(n-1) (0 = no slowing)");
  Add(app, "link_code_ttl_ms", c.link_code_ttl_ms, "link code lifetime");
  Add(app, "max_devices", c.max_devices, "devices per user (primary + linked)");
  Add(app, "max_group_members", c.max_group_members, "members per group, creator included");
  Add(app, "max_group_name_bytes", c.max_group_name_bytes, "longest group name");
  Add(app, "presence_offline_grace_ms", c.presence_offline_grace_ms,
      "a user is shown offline only after being gone this long (drops shorter than it are hidden)");
  Add(app, "max_presence_subscriptions", c.max_presence_subscriptions, "users one connection may watch");
  Add(app, "max_status_bytes", c.max_status_bytes, "longest profile status text");
  Add(app, "max_profiles_per_request", c.max_profiles_per_request, "users per GetProfiles");
  Add(app, "discovery_max_batch", c.discovery_max_batch, "phone numbers per SyncContacts");
  Add(app, "discovery_burst", c.discovery_burst, "phone lookups a user may make at once");
  Add(app, "discovery_per_hour", c.discovery_per_hour, "phone lookups per hour once the burst is spent");
  Add(app, "blob_listen", c.blob_listen, "host:port of the built-in blob store (HTTP/1.1, TLS unless --plain-tcp)");
  Add(app, "blob_public_url", c.blob_public_url, "scheme://host:port clients reach the blob store at (default: from blob_listen)");
  Add(app, "blob_bucket", c.blob_bucket, "the built-in store's bucket name");
  Add(app, "blob_region", c.blob_region, "the built-in store's SigV4 region");
  Add(app, "blob_access_key", c.blob_access_key, "the built-in store's access key id (default: generated into <data>/blobs/credentials)");
  Add(app, "blob_secret_key", c.blob_secret_key, "the built-in store's secret access key");
  Add(app, "blob_max_object_bytes", c.blob_max_object_bytes, "largest asset, bytes");
  Add(app, "blob_max_header_bytes", c.blob_max_header_bytes, "largest HTTP request head on the blob port");
  Add(app, "blob_header_timeout_ms", c.blob_header_timeout_ms, "blob request headers must be complete within this");
  Add(app, "blob_idle_timeout_ms", c.blob_idle_timeout_ms, "blob connections moving no byte for this long are closed");
  Add(app, "blob_max_connections", c.blob_max_connections, "blob connections beyond this are closed at accept");
  Add(app, "s3_endpoint", c.s3_endpoint, "use this external S3-compatible store (scheme://host[:port]); turns the built-in one off");
  Add(app, "s3_region", c.s3_region, "external store's region");
  Add(app, "s3_bucket", c.s3_bucket, "external store's bucket");
  Add(app, "s3_access_key", c.s3_access_key, "external store's access key id");
  Add(app, "s3_secret_key", c.s3_secret_key, "external store's secret access key");
  app.add_flag("--s3-virtual-host,--s3_virtual_host", c.s3_virtual_host, "address the external bucket as bucket.host (default: host/bucket)");
  Add(app, "asset_upload_url_ttl_s", c.asset_upload_url_ttl_s, "lifetime of presigned upload URLs, seconds");
  Add(app, "asset_download_url_ttl_s", c.asset_download_url_ttl_s, "lifetime of presigned download URLs, seconds");
  Add(app, "asset_unreferenced_ttl_ms", c.asset_unreferenced_ttl_ms, "assets never sent in a message are deleted after this");
  Add(app, "asset_retention_ms", c.asset_retention_ms, "every asset is deleted this long after its upload ticket");
  Add(app, "max_assets_per_message", c.max_assets_per_message, "asset references in one message (at most 16)");
  Add(app, "max_thumbnail_bytes", c.max_thumbnail_bytes, "largest inline thumbnail of an asset reference, bytes");
  auto* fault = app.add_option("--test-fail-commits-after", c.test_fail_commits_after,
                               "TESTING ONLY: fail every store commit after the first N");
  fault->group("");  // hidden from --help
}

// Settings are the options with a config-file meaning: not the hidden testing ones, not the
// actions (--help, --config, --stats, --print-default-config).
bool IsSetting(const CLI::Option* o) {
  if (o->get_group().empty() || o->get_lnames().empty()) return false;
  const std::string& name = o->get_lnames().front();
  return name != "help" && name != "config" && name != "stats" && name != "print-default-config";
}

}  // namespace

std::string DefaultConfigText() {
  CommandLine cl;
  CLI::App app{"ternd"};
  Declare(app, cl);
  std::string out =
      "# ternd settings, each shown commented out with its default (`ternd --print-default-config`).\n"
      "# Uncomment a line to change it; flags given on the command line win over this file.\n"
      "# Meanings and units: README.md \"Configuration\" and `ternd --help`.\n";
  for (const CLI::Option* o : app.get_options()) {
    if (!IsSetting(o)) continue;
    std::string key = o->get_lnames().back();  // the underscore spelling when there is one
    for (char& ch : key)
      if (ch == '-') ch = '_';
    std::string value = o->get_default_str();
    const bool text = o->get_type_name() == "TEXT";
    if (o->get_expected_min() == 0) value = value.empty() ? "false" : value;  // a flag
    else if (text) value = "\"" + value + "\"";
    out += "\n# " + o->get_description() + "\n# " + key + " = " + value + "\n";
  }
  return out;
}

std::vector<std::string> SettingNames() {
  CommandLine cl;
  CLI::App app{"ternd"};
  Declare(app, cl);
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options()) {
    if (!IsSetting(o)) continue;
    std::string key = o->get_lnames().back();
    for (char& ch : key)
      if (ch == '-') ch = '_';
    names.push_back(key);
  }
  return names;
}

Result<std::vector<uint32_t>> ParseDictIds(const std::string& s) {
  std::vector<uint32_t> ids;
  if (s.empty()) return ids;
  if (s == "none") return std::vector<uint32_t>{wire::kDictNone};
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty() || item.size() > 9 || item.find_first_not_of("0123456789") != std::string::npos)
      return Status(Code::kInvalidArgument, "expected comma-separated dictionary ids, got \"" + s + "\"");
    const uint32_t id = static_cast<uint32_t>(std::stoul(item));
    if (wire::FindDict(id) == nullptr)
      return Status(Code::kInvalidArgument, "dictionary id " + item + " is not known to this build");
    ids.push_back(id);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return ids;
}

Result<CommandLine> ParseCommandLine(int argc, char** argv) {
  CommandLine cl;
  Config& c = cl.config;
  CLI::App app{"ternd: the Tern messaging server"};
  Declare(app, cl);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return Status(Code::kInvalidArgument, app.help());
  } catch (const CLI::ParseError& e) {
    std::ostringstream os;
    os << e.what() << "\nRun with --help for the settings.";
    return Status(Code::kInvalidArgument, os.str());
  }
  if (auto level = ParseLogLevel(c.log_level); !level.ok()) return level.status();
  auto dicts = ParseDictIds(c.compression_dicts);
  if (!dicts.ok()) return Status(Code::kInvalidArgument, "compression_dicts: " + dicts.status().message());
  c.compression_dict_ids = std::move(dicts).value();
  if (c.max_preauth_frame_bytes > c.max_frame_bytes)
    return Status(Code::kInvalidArgument, "max_preauth_frame_bytes must not exceed max_frame_bytes");
  if (c.default_inflight == 0 || c.max_inflight == 0 || c.deliver_max_items == 0)
    return Status(Code::kInvalidArgument, "windows and batch sizes must be >= 1");
  if (c.max_group_members < 2) return Status(Code::kInvalidArgument, "max_group_members must be >= 2");
  if (c.discovery_max_batch == 0 || c.discovery_max_batch > 4096 || c.max_profiles_per_request == 0 ||
      c.max_profiles_per_request > 4096 || c.max_presence_subscriptions > 4096 ||
      c.discovery_max_batch > c.discovery_burst)
    return Status(Code::kInvalidArgument,
                  "discovery_max_batch and max_profiles_per_request must be 1..4096, "
                  "max_presence_subscriptions at most 4096 (the decoder's list limit), "
                  "discovery_max_batch at most discovery_burst");
  if (c.heartbeat_ms < 1000) return Status(Code::kInvalidArgument, "heartbeat_ms must be >= 1000");
  if (c.tls_cert.empty() != c.tls_key.empty()) return Status(Code::kInvalidArgument, "tls_cert and tls_key go together");
  if (c.tls_ticket_lifetime_s == 0 || c.tls_ticket_lifetime_s > 604800)
    return Status(Code::kInvalidArgument, "tls_ticket_lifetime_s must be 1..604800");
  if (c.tls_ticket_rotate_s == 0) return Status(Code::kInvalidArgument, "tls_ticket_rotate_s must be >= 1");
  if (c.max_connections_per_ip == 0 || c.accept_rate == 0)
    return Status(Code::kInvalidArgument, "max_connections_per_ip and accept_rate must be >= 1");
  auto hp = SplitHostPort(c.listen);
  if (!hp.ok()) return hp.status();
  if (c.s3_endpoint.empty()) {
    auto bhp = SplitHostPort(c.blob_listen);
    if (!bhp.ok()) return bhp.status();
  } else if (c.s3_bucket.empty() || c.s3_access_key.empty() || c.s3_secret_key.empty() ||
             (c.s3_endpoint.rfind("http://", 0) != 0 && c.s3_endpoint.rfind("https://", 0) != 0)) {
    return Status(Code::kInvalidArgument, "s3_endpoint (http[s]://host[:port]) needs s3_bucket, s3_access_key and s3_secret_key");
  }
  if (c.max_assets_per_message > 16) return Status(Code::kInvalidArgument, "max_assets_per_message must be <= 16");
  if (c.blob_access_key.empty() != c.blob_secret_key.empty())
    return Status(Code::kInvalidArgument, "blob_access_key and blob_secret_key go together");
  if (c.blob_max_header_bytes < 512 || c.blob_max_object_bytes == 0 || c.blob_header_timeout_ms == 0 ||
      c.blob_idle_timeout_ms == 0 || c.blob_max_connections == 0)
    return Status(Code::kInvalidArgument, "blob limits must be >= 1 (blob_max_header_bytes >= 512)");
  if (c.asset_upload_url_ttl_s == 0 || c.asset_upload_url_ttl_s > 604800 || c.asset_download_url_ttl_s == 0 ||
      c.asset_download_url_ttl_s > 604800)
    return Status(Code::kInvalidArgument, "asset URL lifetimes must be 1..604800 s");
  if (!c.admin_listen.empty()) {
    auto ap = SplitHostPort(c.admin_listen);
    if (!ap.ok()) return Status(Code::kInvalidArgument, "admin_listen: " + ap.status().message());
  }
  if (c.admin_max_connections == 0 || c.admin_max_request_bytes < 256)
    return Status(Code::kInvalidArgument, "admin_max_connections must be >= 1, admin_max_request_bytes >= 256");
  return cl;
}

}  // namespace tern::server
