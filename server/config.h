// Config: every setting of ternd, with its default. Each field is a named setting, settable by
// flag (--name-with-dashes) or in the config file (name = value; see README "Configuration").
//
// Thread safety: a plain value, read-only after start-up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wire/status.h"

namespace tern::server {

struct Config {
  // Network.
  std::string listen = "127.0.0.1:7011";  // host:port of the chat listener (port 0 = any)
  uint32_t max_connections = 10000;       // further accepts are closed at once
  uint64_t max_outbound_bytes = 8u << 20; // per connection; a reader this far behind is dropped
  uint32_t max_connections_per_ip = 1000; // further accepts from one address are closed at once
  uint32_t accept_rate = 2000;            // accepts per second kept (burst = one second's worth)

  // Admin port: plain HTTP GET /metrics (Prometheus), /healthz, /readyz (server/uv_admin.h).
  // Loopback by default: no authentication, so never expose it beyond a trusted network.
  std::string admin_listen = "127.0.0.1:7012";  // empty = off; port 0 picks a free port
  uint32_t admin_max_connections = 16;    // concurrent admin connections; further ones are closed
  uint32_t admin_max_request_bytes = 8192;// request line + headers; larger requests get 431

  // TLS (on unless plain_tcp). See README "TLS" and wire/PROTOCOL.md §1.
  bool plain_tcp = false;                 // explicit: speak plain TCP (benchmarks, local tests)
  std::string tls_cert;                   // PEM chain; empty: self-signed under <data>/tls/
  std::string tls_key;                    // PEM private key for tls_cert
  uint32_t tls_ticket_lifetime_s = 604800;// session ticket lifetime (TLS 1.3 maximum: 7 days)
  uint32_t tls_ticket_rotate_s = 86400;   // a new ticket-encryption key this often
  uint32_t tls_max_early_data = 2048;     // 0-RTT bytes accepted (the Resume); 0 disables 0-RTT

  // Logs (server/log.h): debug, info, warn or error; lines below it are dropped.
  std::string log_level = "info";

  // Storage.
  std::string data_dir = "data";
  uint16_t node_id = 1;                   // top 16 bits of every message id
  uint64_t store_initial_map_mb = 64;
  uint64_t store_max_map_mb = 1u << 20;   // 1 TiB of address space; the file grows as used
  // A turn whose writes promise nothing durable to anyone (inbox acks, delivered receipts, last
  // seen: all replayed after a crash) may leave its transaction open this long, so the next
  // turn that must sync commits both with one fsync. 0 = commit every turn that wrote.
  uint32_t store_lazy_commit_ms = 50;

  // Compression (wire/PROTOCOL.md §2.3): the ids the server may choose from a client's offer,
  // comma-separated (e.g. "1002,1001,1"); empty = every dictionary this build knows; "none" =
  // never compress. For rolling a dictionary back without a new build.
  std::string compression_dicts;
  std::vector<uint32_t> compression_dict_ids;  // parsed from compression_dicts by ParseCommandLine

  // Protocol limits.
  uint32_t max_frame_bytes = 256 * 1024;  // frame body after authentication
  uint32_t max_preauth_frame_bytes = 1024;
  uint32_t max_preauth_frames = 8;        // handshake frames allowed per connection
  uint32_t handshake_timeout_ms = 10000;
  uint32_t heartbeat_ms = 270000;         // advertised; silent connections close at 1.5x
  uint32_t max_text_bytes = 65536;

  // Delivery.
  uint32_t default_inflight = 256;        // window when the client asks for 0
  uint32_t max_inflight = 1024;           // clamp for the client's window
  uint32_t deliver_max_items = 256;       // items per Deliver frame
  uint32_t deliver_max_bytes = 64 * 1024; // text bytes per Deliver frame
  uint64_t queue_cap = 100000;            // items per device queue; beyond: queue_full
  uint64_t message_ttl_ms = 30ull * 24 * 3600 * 1000;
  uint32_t expiry_interval_ms = 60000;    // sweeper period
  uint32_t expiry_budget = 1000;          // messages expired per sweep

  // Accounts.
  uint32_t otp_ttl_ms = 600000;
  uint32_t otp_resend_ms = 30000;
  uint32_t otp_max_attempts = 5;
  uint32_t otp_fail_delay_ms = 1000;      // after the n-th wrong code, wait this x 2^(n-1)
  uint32_t link_code_ttl_ms = 300000;
  uint32_t max_devices = 5;               // primary + 4 linked
  uint32_t max_group_members = 1024;      // members per group, creator included
  uint32_t max_group_name_bytes = 128;

  // Presence, profiles, contact discovery (wire/PROTOCOL.md §3.12, §3.13).
  uint32_t presence_offline_grace_ms = 5000;  // a drop shorter than this never shows as offline
  uint32_t max_presence_subscriptions = 256;  // users one connection watches
  uint32_t max_status_bytes = 139;            // profile status text
  uint32_t max_profiles_per_request = 256;    // GetProfiles users
  uint32_t discovery_max_batch = 1000;        // phones per SyncContacts
  uint32_t discovery_burst = 2000;            // phones a user may look up at once (bucket size)
  uint32_t discovery_per_hour = 200;          // bucket refill: phones per hour afterwards
  // Media: the built-in blob store (an S3-compatible HTTP endpoint in ternd, files under
  // <data>/blobs), on unless s3_endpoint is set. See README "Media" and wire/PROTOCOL.md §5.
  std::string blob_listen = "127.0.0.1:7014";  // host:port (port 0 = any); TLS unless plain_tcp
  std::string blob_public_url;            // scheme://host:port clients use; empty: from blob_listen
  std::string blob_bucket = "tern";
  std::string blob_region = "us-east-1";
  std::string blob_access_key;            // empty: generated once into <data>/blobs/credentials
  std::string blob_secret_key;
  uint64_t blob_max_object_bytes = 64ull << 20;  // largest asset (checked at ticket and upload)
  uint32_t blob_max_header_bytes = 8192;  // HTTP request line + headers
  uint32_t blob_header_timeout_ms = 10000;// a request's headers must arrive within this
  uint32_t blob_idle_timeout_ms = 30000;  // a blob connection moving no byte for this long closes
  uint32_t blob_max_connections = 1000;
  // An external S3-compatible store instead (turns the built-in one off).
  std::string s3_endpoint;                // e.g. https://s3.eu-west-1.amazonaws.com
  std::string s3_region = "us-east-1";
  std::string s3_bucket;
  std::string s3_access_key;
  std::string s3_secret_key;
  bool s3_virtual_host = false;           // bucket.host/key instead of host/bucket/key
  // The asset service.
  uint32_t asset_upload_url_ttl_s = 900;  // presigned PUT lifetime
  uint32_t asset_download_url_ttl_s = 900;// presigned GET lifetime
  uint64_t asset_unreferenced_ttl_ms = 24ull * 3600 * 1000;  // never sent in a message: deleted
  uint64_t asset_retention_ms = 30ull * 24 * 3600 * 1000;    // every asset is deleted after this
  uint32_t max_assets_per_message = 10;   // asset references in one Send (wire caps at 16)
  uint32_t max_thumbnail_bytes = 4096;    // inline thumbnail per reference

  // Testing only: every store commit after the first N fails (0 = off).
  uint64_t test_fail_commits_after = 0;
};

// Parses flags (and `--config FILE`, whose keys are the same names with underscores or
// dashes). Returns the config, or an error with a usage message. `stats_only` is set by
// `--stats` (print store statistics and exit).
struct CommandLine {
  Config config;
  bool stats_only = false;
  bool print_default_config = false;  // --print-default-config: print DefaultConfigText(), exit
};
Result<CommandLine> ParseCommandLine(int argc, char** argv);

// A config file listing every setting (name = default, each commented out, with its help text):
// installed as /etc/tern/ternd.conf. Generated from the same declarations as the flags, so it
// cannot miss one (tests/unit/server_config_test.cc checks it against Config anyway).
std::string DefaultConfigText();
// Every setting's config-file name (underscores), in declaration order.
std::vector<std::string> SettingNames();

// Parses a compression_dicts value: {} for "", {kDictNone} for "none", else the ids, each one a
// dictionary this build knows. Errors: kInvalidArgument (bad number, unknown id).
Result<std::vector<uint32_t>> ParseDictIds(const std::string& s);

// Splits "host:port". Errors: kInvalidArgument.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& s);

}  // namespace tern::server
