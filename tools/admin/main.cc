// tern-admin: the operator's tool for a ternd data folder — inspect, stats, backup, restore,
// expire. See tools/admin/admin.h for what may run next to a live ternd, README "Operations".
//
//   tern-admin inspect --data /var/lib/tern [--top 20]
//   tern-admin backup  --data /var/lib/tern --to /backups/tern-2024-05-01
//   tern-admin restore --from /backups/tern-2024-05-01 --data /var/lib/tern-new
//   tern-admin expire  --data /var/lib/tern          (ternd stopped)
//   tern-admin stats   --data /var/lib/tern
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "tools/admin/admin.h"

int main(int argc, char** argv) {
  CLI::App app{"tern-admin: inspect, back up, restore and expire a ternd data folder"};
  app.require_subcommand(1);
  std::string data = "data", to, from;
  size_t top = 20, budget = 1000;
  uint64_t now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  auto* inspect = app.add_subcommand("inspect", "counts, and the deepest device queues with their oldest item's age");
  inspect->add_option("--data", data, "ternd data folder")->capture_default_str();
  inspect->add_option("--top", top, "device queues to list, deepest first (0 = all)")->capture_default_str();
  inspect->add_option("--now-ms", now_ms, "clock for ages (default: now)");
  auto* stats = app.add_subcommand("stats", "entries per table and map usage, one JSON line");
  stats->add_option("--data", data, "ternd data folder")->capture_default_str();
  auto* backup = app.add_subcommand("backup", "compacted online copy of the store (+ tls/); safe while ternd runs");
  backup->add_option("--data", data, "ternd data folder")->capture_default_str();
  backup->add_option("--to", to, "new backup folder")->required();
  auto* restore = app.add_subcommand("restore", "restore a backup into a new or empty data folder");
  restore->add_option("--from", from, "backup folder")->required();
  restore->add_option("--data", data, "data folder to create (must hold no store)")->required();
  auto* expire = app.add_subcommand("expire", "run the expiry sweep now (refused while ternd runs)");
  expire->add_option("--data", data, "ternd data folder")->capture_default_str();
  expire->add_option("--now-ms", now_ms, "expire what is due at this time (default: now)");
  expire->add_option("--budget", budget, "messages per transaction")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (*inspect) return tern::admin::Inspect(data, top, now_ms, stdout);
  if (*stats) return tern::admin::Stats(data, stdout);
  if (*backup) return tern::admin::Backup(data, to, stdout);
  if (*restore) return tern::admin::Restore(from, data, stdout);
  if (*expire) return tern::admin::Expire(data, now_ms, budget == 0 ? 1 : budget, stdout);
  return 2;
}
