// The fanout workload (tools/loadgen/main.cc): group messages to one group.
//
// Users 0..members-1, `devices` devices each, form group 0 (user 0's device 0 creates it);
// users 0..senders-1 are members that also send: device 0 of each sends `rounds` texts to the
// group, keeping at most `window` unacknowledged. A group message reaches every device of every
// member except the device that sent it (PROTOCOL.md §3.10), the sender's other devices
// included: members x devices - 1 deliveries per message. Every such device must get every
// acknowledged message of every sender exactly once and in that sender's order; a sending
// device that gets its own message back counts it as a duplicate.
#include <algorithm>
#include <barrier>
#include <mutex>
#include <numeric>
#include <thread>

#include "tools/loadgen/proc.h"
#include "tools/loadgen/workload_util.h"
#include "tools/loadgen/workloads.h"

namespace tern::loadgen {

Report Fanout(Backend& b, const WorkloadOptions& o) {
  Report r;
  const uint32_t s = o.senders, m = o.members;
  if (s > m) {
    r.error = "--senders must not exceed --members (senders are members of the group)";
    return r;
  }
  Population pop;
  Status reg = RegisterAll(b, m, [&](uint32_t) { return o.devices; }, o.setup_threads, &pop);
  if (!reg.ok()) {
    r.error = reg.ToString();
    return r;
  }
  std::vector<uint32_t> users(m);
  std::iota(users.begin(), users.end(), 0u);
  std::vector<Endpoint*> eps;
  for (const auto& d : pop.devices) eps.push_back(d->ep.get());
  if (Status st = b.CreateGroup(0, users, *pop.dev(0).ep, eps); !st.ok()) {
    r.error = "create group: " + st.ToString();
    return r;
  }
  const size_t n = pop.devices.size();
  // Device k sends as user sender_of(k), or is no sending device (-1).
  auto sender_of = [&](size_t k) -> int64_t {
    const uint32_t u = pop.devices[k]->user;
    return u < s && pop.first[u] == k ? int64_t{u} : -1;
  };
  std::vector<SenderState> state(s);
  // What device k must get from sender i once i is done: all its acked messages but its own.
  auto want = [&](size_t k, uint32_t i) -> uint64_t {
    return sender_of(k) == int64_t{i} ? 0 : state[i].acked.load();
  };
  auto caught_up = [&](size_t k) {
    for (uint32_t i = 0; i < s; ++i) {
      if (!state[i].done || pop.devices[k]->inbox.count_from(i) < want(k, i)) return false;
    }
    return true;
  };
  std::barrier<> go(static_cast<ptrdiff_t>(n) + 1);
  std::mutex mu;
  Status first;
  std::vector<std::thread> threads;
  for (size_t k = 0; k < n; ++k) {
    threads.emplace_back([&, k] {
      Device& d = *pop.devices[k];
      Endpoint& ep = *d.ep;
      const int64_t as = sender_of(k);
      go.arrive_and_wait();
      Status st;
      if (as >= 0) {
        const auto i = static_cast<uint32_t>(as);
        st = SenderLoop(ep, o.rounds, NowNs() + kTailNs, o.window, [&](uint64_t j) {
          return ep.SendToGroup(0, MakeText(i, j, NowNs(), o.text_bytes));
        });
        KeepFirstError(mu, &first, st, "sender " + std::to_string(i));
        state[i].acked = ep.acked();
        state[i].done = true;
      }
      if (st.ok()) st = ReceiveLoop(ep, [&] { return caught_up(k); }, NowNs() + 2 * kTailNs);
      KeepFirstError(mu, &first, st, "member " + std::to_string(d.user) + " device " +
                                         std::to_string(k - pop.first[d.user]));
    });
  }
  CpuPair cpu(b.server_pid());
  const int64_t t0 = NowNs();
  cpu.Start();
  go.arrive_and_wait();
  for (std::thread& t : threads) t.join();

  Tally tally;
  std::vector<int64_t> lat;
  int64_t last = t0;
  uint64_t group_msgs = 0;
  for (uint32_t i = 0; i < s; ++i) group_msgs += state[i].acked;
  for (size_t k = 0; k < n; ++k) {
    const Inbox& in = pop.devices[k]->inbox;
    for (uint32_t i = 0; i < s; ++i) tally.Check(in, i, want(k, i));
    tally.AddCounts(in);
    if (const int64_t as = sender_of(k); as >= 0) {  // its own messages came back: not deliveries
      const uint64_t echo = in.count_from(static_cast<uint32_t>(as));
      tally.duplicates += echo;
      tally.delivered -= echo;
    }
    lat.insert(lat.end(), in.latency_ns.begin(), in.latency_ns.end());
    last = std::max(last, in.last_ns);
  }
  const double secs = static_cast<double>(last - t0) / 1e9;
  const uint64_t per_msg = n - 1;
  r.ran = true;
  r.error = first.ok() ? "" : first.ToString();
  r.describe = std::to_string(s) + " senders x " + std::to_string(o.rounds) + " group messages (" +
               std::to_string(o.text_bytes) + " bytes, window " + std::to_string(o.window) +
               ") to one group of " + std::to_string(m) + " members x " +
               std::to_string(o.devices) + " devices (senders are members): " +
               std::to_string(per_msg) + " deliveries per message";
  r.notes.push_back(
      "a group message goes to every member device except the sending one (the sender's other "
      "devices included); latency = send call to delivery callback, on every receiving device");
  r.notes.push_back(
      "Tern: one durable store transaction per group message (body once, a queue item per "
      "device); each member's first device to ack moves the member's delivered mark, and ternd "
      "queues that receipt for the senders' devices (PROTOCOL.md 3.11, coalesced per device, "
      "chat and reader): that work is inside Tern's figures; Mosquitto has no receipts (its "
      "PUBACK means only that the broker took the message)");
  r.notes.push_back(
      "Mosquitto: the group is topic g/<id>, every member device subscribed at QoS 1 with "
      "clean_session=false; a group send is one QoS 1 PUBLISH; the publisher's own copy (MQTT "
      "3.1.1 has no no-local) is dropped by the client and not counted");
  r.Add("deliveries_per_s", secs > 0 ? static_cast<double>(tally.delivered) / secs : 0, true, true);
  r.Add("group_msgs_per_s", secs > 0 ? static_cast<double>(group_msgs) / secs : 0, true);
  AddLatencyFigures(r, lat, false);
  cpu.Stop(r);
  tally.Into(r);
  r.verify_text += " (" + std::to_string(group_msgs) + " acked group messages x " +
                   std::to_string(per_msg) + " devices)";
  return r;
}

}  // namespace tern::loadgen
