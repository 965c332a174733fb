#include "tests/integration/client_util.h"

#include <algorithm>

namespace tern::testing {

Result<std::unique_ptr<Client>> RegisterUser(const TestServer& server, const std::string& phone,
                                             tools::ClientCore::Options core,
                                             const std::string& state_path) {
  Client::Options o = server.ClientOptions(state_path);
  o.core = core;
  auto c = Client::Create(o);
  if (!c.ok()) return c.status();
  Result<wire::CodeSent> sent = (*c)->RequestCode(phone);
  if (!sent.ok()) return sent.status();
  // The server appends the code to otp.log before it answers CodeSent.
  Result<std::string> code = server.CodeFor(phone);
  if (!code.ok()) return code.status();
  Result<wire::Welcome> w = (*c)->Verify(phone, *code, "phone " + phone);
  if (!w.ok()) return w.status();
  return c;
}

Result<std::unique_ptr<Client>> LinkDevice(const TestServer& server, Client& existing,
                                           const std::string& device_name,
                                           tools::ClientCore::Options core) {
  Result<wire::LinkCode> code = existing.CreateLinkCode();
  if (!code.ok()) return code.status();
  Client::Options o = server.ClientOptions();
  o.core = core;
  auto c = Client::Create(o);
  if (!c.ok()) return c.status();
  Result<wire::Welcome> w = (*c)->Link(code->code, device_name);
  if (!w.ok()) return w.status();
  return c;
}

Status PollAll(const std::vector<Client*>& clients, const std::function<bool()>& done,
               int timeout_ms, const std::string& what) {
  const uint64_t deadline = tools::SteadyNowMs() + static_cast<uint64_t>(timeout_ms);
  while (!done()) {
    if (tools::SteadyNowMs() >= deadline) {
      return Status(Code::kTimeout, "timed out after " + std::to_string(timeout_ms) +
                                        " ms waiting for " + what);
    }
    // Short IO waits per client, so one idle connection does not starve the others.
    for (Client* c : clients) {
      Status st = c->Poll(5);
      if (!st.ok()) return Status(st.code(), "client disconnected: " + st.message());
    }
  }
  return Status::Ok();
}

Result<std::vector<uint64_t>> SendAll(Client& from, uint64_t to,
                                      const std::vector<std::string>& texts) {
  std::vector<uint64_t> seqs;
  for (const std::string& t : texts) {
    Result<uint64_t> seq = from.Send(to, t);
    if (!seq.ok()) return seq.status();
    seqs.push_back(*seq);
    if (from.connected()) {
      // Read acks as they come so neither side's buffers fill up.
      Status st = from.Poll(0);
      if (!st.ok()) return st;
    }
  }
  return seqs;
}

Result<std::vector<wire::SendAck>> WaitForAcks(Client& c, const std::vector<uint64_t>& seqs,
                                               int timeout_ms) {
  Status st = c.WaitUntil(
      [&] {
        return std::all_of(seqs.begin(), seqs.end(),
                           [&](uint64_t s) { return c.core().ack_for(s) != nullptr; });
      },
      timeout_ms, std::to_string(seqs.size()) + " SendAcks");
  if (!st.ok()) return st;
  std::vector<wire::SendAck> acks;
  for (uint64_t s : seqs) acks.push_back(*c.core().ack_for(s));
  return acks;
}

std::vector<std::string> Texts(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + "-" + std::to_string(i));
  return out;
}

std::vector<std::string> InboxTexts(const Client& c) {
  std::vector<std::string> out;
  for (const wire::InboxItem& it : c.inbox()) out.push_back(it.text);
  return out;
}

}  // namespace tern::testing
