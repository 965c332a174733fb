// Client helpers for the integration tests: register and link devices against a TestServer,
// drive several clients at once, and check what they received.
//
// Every wait is bounded (kWaitMs unless stated). Thread safety: one test thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/server_util.h"
#include "tools/client/client.h"

namespace tern::testing {

inline constexpr int kWaitMs = 10000;

using tools::Client;

// RequestCode, the code from otp.log, Verify: a connected, authenticated primary device.
Result<std::unique_ptr<Client>> RegisterUser(const TestServer& server, const std::string& phone,
                                             tools::ClientCore::Options core = {},
                                             const std::string& state_path = "");
// A link code from `existing`, then Link on a new client: a connected second device.
Result<std::unique_ptr<Client>> LinkDevice(const TestServer& server, Client& existing,
                                           const std::string& device_name,
                                           tools::ClientCore::Options core = {});

// Polls every client in turn until done() (ok), timeout (kTimeout naming `what`), or one of
// them disconnects (its last_error()).
Status PollAll(const std::vector<Client*>& clients, const std::function<bool()>& done,
               int timeout_ms, const std::string& what);

// Sends texts[i] to `to` for every i; returns the client_seqs. Does not wait for acks.
Result<std::vector<uint64_t>> SendAll(Client& from, uint64_t to,
                                      const std::vector<std::string>& texts);
// Until every seq has a SendAck; returns them in the order of `seqs`.
Result<std::vector<wire::SendAck>> WaitForAcks(Client& c,
                                                      const std::vector<uint64_t>& seqs,
                                                      int timeout_ms = kWaitMs);

// "prefix-0", "prefix-1", ...
std::vector<std::string> Texts(const std::string& prefix, int n);
// The texts of an inbox, in inbox order.
std::vector<std::string> InboxTexts(const Client& c);

}  // namespace tern::testing
