// tern-weaknet: a TCP proxy that makes a loopback link behave like a 2G/3G one (latency and
// jitter per direction, a token-bucket bandwidth, loss as retransmission stalls, random or
// periodic drops, half-open black holes, a cut after N bytes). See README.md "tern-weaknet".
//
//   tern-weaknet --connect 127.0.0.1:7011 --profile edge-of-cell --seed 7
//
// Prints `tern-weaknet listening on 127.0.0.1:PORT` once listening (stdout, flushed), a JSON
// report line (bytes and stalls per direction, drops) on SIGUSR1, every --report-ms, and at
// exit (SIGINT/SIGTERM). SIGUSR2 resets every live connection at once (a forced drop).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "tools/weaknet/proxy.h"

namespace {

int g_wake_fd = -1;

void OnSignal(int sig) {
  const char* c = sig == SIGUSR1 ? "r" : sig == SIGUSR2 ? "d" : "q";
  if (g_wake_fd >= 0) (void)!::write(g_wake_fd, c, 1);
}

bool SplitHostPort(const std::string& spec, std::string* host, uint16_t* port) {
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos) return false;
  *host = spec.substr(0, colon);
  try {
    int p = std::stoi(spec.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host->empty();
}

}  // namespace

int main(int argc, char** argv) {
  using tern::weaknet::DirectionParams;
  CLI::App app{"tern-weaknet: a TCP proxy that imposes a weak mobile link (the 2G/3G lab)"};
  std::string listen = "127.0.0.1:0", connect, profile_name = "none";
  uint64_t seed = 1;
  uint32_t report_ms = 0;
  bool verbose = false;
  app.add_option("--listen", listen, "address to accept on (port 0 = any; the port is printed)");
  app.add_option("--connect", connect, "upstream server host:port")->required();
  app.add_option("--profile", profile_name, "none | 3g | 2g | flaky | edge-of-cell");
  app.add_option("--seed", seed, "makes jitter, loss and drops reproducible");
  app.add_option("--report-ms", report_ms, "print a report line this often (0 = on SIGUSR1 and exit)");
  app.add_flag("--verbose", verbose, "log connection events to stderr");

  // Overrides; the plain flag sets both directions, --up-/--down- one of them.
  struct DirFlag {
    const char* name;
    const char* help;
    std::function<void(DirectionParams&, double)> set;
  };
  const DirFlag dir_flags[] = {
      {"delay-ms", "one-way delay", [](DirectionParams& d, double v) { d.delay_ms = static_cast<uint32_t>(v); }},
      {"jitter-ms", "extra delay per segment, uniform [0, N]", [](DirectionParams& d, double v) { d.jitter_ms = static_cast<uint32_t>(v); }},
      {"rate-kbps", "bandwidth in kbit/s (0 = unlimited)", [](DirectionParams& d, double v) { d.rate_bps = static_cast<uint64_t>(v * 1000); }},
      {"burst-bytes", "token-bucket depth", [](DirectionParams& d, double v) { d.burst_bytes = static_cast<uint32_t>(v); }},
      {"loss", "probability a segment is lost (a retransmission stall)", [](DirectionParams& d, double v) { d.loss = v; }},
      {"stall-ms", "delay added by a lost segment", [](DirectionParams& d, double v) { d.stall_ms = static_cast<uint32_t>(v); }},
  };
  struct Given {
    CLI::Option* both;
    CLI::Option* up;
    CLI::Option* down;
    double vb = 0, vu = 0, vd = 0;
  };
  std::vector<Given> given(std::size(dir_flags));
  for (size_t i = 0; i < std::size(dir_flags); ++i) {
    std::string n = dir_flags[i].name;
    given[i].both = app.add_option("--" + n, given[i].vb, dir_flags[i].help);
    given[i].up = app.add_option("--up-" + n, given[i].vu, std::string(dir_flags[i].help) + ", client->server only");
    given[i].down = app.add_option("--down-" + n, given[i].vd, std::string(dir_flags[i].help) + ", server->client only");
  }
  uint32_t drop_min = 0, drop_max = 0, drop_every = 0, hold = 0;
  double half_open = 0;
  uint64_t cut = 0;
  auto* o_drop_min = app.add_option("--drop-min-ms", drop_min, "earliest random drop after connect");
  auto* o_drop_max = app.add_option("--drop-max-ms", drop_max, "latest random drop after connect (0 = no drops)");
  auto* o_drop_every = app.add_option("--drop-every-ms", drop_every, "periodic drop interval (overrides random)");
  auto* o_half_open = app.add_option("--half-open", half_open, "fraction of drops that black-hole (no FIN, no RST)");
  auto* o_hold = app.add_option("--half-open-hold-ms", hold, "close a black-holed socket after this at most");
  auto* o_cut = app.add_option("--cut-after-bytes", cut, "reset after N bytes went through (0 = never)");
  CLI11_PARSE(app, argc, argv);

  tern::weaknet::ProxyOptions o;
  if (!tern::weaknet::NamedProfile(profile_name, &o.profile)) {
    std::fprintf(stderr, "tern-weaknet: unknown profile '%s'\n", profile_name.c_str());
    return 2;
  }
  for (size_t i = 0; i < std::size(dir_flags); ++i) {
    if (*given[i].both) {
      dir_flags[i].set(o.profile.up, given[i].vb);
      dir_flags[i].set(o.profile.down, given[i].vb);
    }
    if (*given[i].up) dir_flags[i].set(o.profile.up, given[i].vu);
    if (*given[i].down) dir_flags[i].set(o.profile.down, given[i].vd);
  }
  auto& f = o.profile.faults;
  if (*o_drop_min) f.drop_min_ms = drop_min;
  if (*o_drop_max) f.drop_max_ms = drop_max;
  if (*o_drop_every) f.drop_every_ms = drop_every;
  if (*o_half_open) f.half_open = half_open;
  if (*o_hold) f.half_open_hold_ms = hold;
  if (*o_cut) f.cut_after_bytes = cut;
  if (f.drop_min_ms > f.drop_max_ms && f.drop_max_ms != 0) {
    std::fprintf(stderr, "tern-weaknet: --drop-min-ms must not exceed --drop-max-ms\n");
    return 2;
  }
  if (!SplitHostPort(listen, &o.listen_host, &o.listen_port) ||
      !SplitHostPort(connect, &o.upstream_host, &o.upstream_port)) {
    std::fprintf(stderr, "tern-weaknet: addresses are host:port\n");
    return 2;
  }
  o.seed = seed;
  o.report_ms = report_ms;
  o.verbose = verbose;

  auto proxy = tern::weaknet::Proxy::Listen(o);
  if (!proxy.ok()) {
    std::fprintf(stderr, "tern-weaknet: %s\n", proxy.status().ToString().c_str());
    return 1;
  }
  const std::string name = o.profile.name;
  (*proxy)->on_report = [&name](const tern::weaknet::ProxyStats& s) {
    std::printf("%s\n", tern::weaknet::StatsJson(s, name).c_str());
    std::fflush(stdout);
  };
  g_wake_fd = (*proxy)->wake_fd();
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::printf("tern-weaknet listening on %s:%u\n", o.listen_host.c_str(), (*proxy)->port());
  std::fflush(stdout);
  std::fprintf(stderr,
               "tern-weaknet: profile %s -> %s; up %u+%u ms %llu bit/s loss %.3f; down %u+%u ms "
               "%llu bit/s loss %.3f; drops %u-%u ms every %u ms, half-open %.2f, cut %llu\n",
               name.c_str(), connect.c_str(), o.profile.up.delay_ms, o.profile.up.jitter_ms,
               (unsigned long long)o.profile.up.rate_bps, o.profile.up.loss,
               o.profile.down.delay_ms, o.profile.down.jitter_ms,
               (unsigned long long)o.profile.down.rate_bps, o.profile.down.loss, f.drop_min_ms,
               f.drop_max_ms, f.drop_every_ms, f.half_open, (unsigned long long)f.cut_after_bytes);
  (*proxy)->Run();
  g_wake_fd = -1;
  return 0;
}
