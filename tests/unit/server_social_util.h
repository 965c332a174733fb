// Helpers for the receipts / presence / profiles / discovery tests of the server core
// (server_receipts_test.cc, server_presence_test.cc): what a TestDevice received, filtered by
// kind, and requests that return their answer after one turn.
//
// Thread safety: one test thread.
#pragma once

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "server_harness.h"

namespace tern::server::testing {

// The last message of type T that `d` received (nullptr if none).
template <typename T>
const T* LastOf(const TestDevice& d) {
  for (auto it = d.received.rbegin(); it != d.received.rend(); ++it)
    if (const T* m = std::get_if<T>(&*it)) return m;
  return nullptr;
}

// Every message of type T that `d` received, in order.
template <typename T>
std::vector<T> AllOf(const TestDevice& d) {
  std::vector<T> out;
  for (const auto& m : d.received)
    if (const T* x = std::get_if<T>(&m)) out.push_back(*x);
  return out;
}

// The kReceipt items `d` received, in inbox order.
inline std::vector<wire::InboxItem> ReceiptItems(const TestDevice& d) {
  std::vector<wire::InboxItem> out;
  for (const auto& it : d.items)
    if (it.kind == wire::ItemKind::kReceipt) out.push_back(it);
  return out;
}

// The chat items (anything but receipts) `d` received.
inline std::vector<wire::InboxItem> ChatItems(const TestDevice& d) {
  std::vector<wire::InboxItem> out;
  for (const auto& it : d.items)
    if (it.kind != wire::ItemKind::kReceipt) out.push_back(it);
  return out;
}

// What the receipts `d` received say about `reader` in the 1:1 chat with `peer` (group 0) or
// in `group`: the highest delivered and read chat seq (read implies delivered), as a client
// would show ticks.
struct Ticks {
  uint64_t delivered = 0;
  uint64_t read = 0;
  bool operator==(const Ticks&) const = default;
};
inline Ticks TicksOf(const TestDevice& d, uint64_t reader, uint64_t group = 0) {
  Ticks t;
  for (const auto& it : ReceiptItems(d)) {
    if (it.sender_user != reader || it.group_id != group) continue;
    if (it.receipt == wire::ReceiptType::kRead) t.read = std::max(t.read, it.chat_seq);
    t.delivered = std::max({t.delivered, t.read, it.chat_seq});
  }
  return t;
}

// Sends `m` (a request with req_id) on `d`, plays one turn and returns the Reply with that
// req_id (nullopt when none came).
inline std::optional<wire::Reply> ReplyTo(Harness& h, TestDevice& d, const wire::Message& m, uint32_t req_id) {
  d.SendMsg(m);
  h.Turn();
  for (auto it = d.received.rbegin(); it != d.received.rend(); ++it)
    if (const auto* r = std::get_if<wire::Reply>(&*it); r != nullptr && r->req_id == req_id) return *r;
  return std::nullopt;
}

inline std::ostream& operator<<(std::ostream& os, const Ticks& t) {
  return os << "{delivered " << t.delivered << ", read " << t.read << "}";
}

}  // namespace tern::server::testing
