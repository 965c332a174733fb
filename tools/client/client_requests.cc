// Client: waiting helpers, request/response calls and closing (IO core in client.cc).
#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>

#include "tools/client/client.h"

namespace tern::tools {
namespace {

int ClampMs(uint64_t ms) {
  return static_cast<int>(std::min<uint64_t>(ms, std::numeric_limits<int>::max()));
}

// A request answered with something other than `expected`: a refusal Reply carries the
// server's status; anything else is the server breaking the protocol.
Status ReplyStatus(const wire::Message& m, std::string_view expected) {
  if (const auto* reply = std::get_if<wire::Reply>(&m)) {
    if (reply->status != Code::kOk) {
      return Status(reply->status,
                    reply->message.empty() ? "refused by the server" : reply->message);
    }
    if (expected == "Reply") return Status::Ok();
  }
  return Status(Code::kProtocol, std::string("unexpected ") + wire::MessageName(m) +
                                     " in answer to a request, expected " +
                                     std::string(expected));
}

}  // namespace

Status Client::WaitUntil(const std::function<bool()>& done, int timeout_ms,
                         const std::string& what) {
  const uint64_t deadline = SteadyNowMs() + static_cast<uint64_t>(std::max(timeout_ms, 0));
  while (true) {
    if (done()) return Status::Ok();
    if (!connected()) return last_error();
    uint64_t now = SteadyNowMs();
    if (now >= deadline) {
      return Status(Code::kTimeout, "timed out after " + std::to_string(timeout_ms) +
                                        " ms waiting for " + what);
    }
    Status st = Poll(ClampMs(deadline - now));
    if (done()) return Status::Ok();
    if (!st.ok()) return st;
  }
}

Result<wire::SendAck> Client::WaitForAck(uint64_t client_seq, int timeout_ms) {
  Status st = WaitUntil([&] { return core_.ack_for(client_seq) != nullptr; }, timeout_ms,
                        "SendAck " + std::to_string(client_seq));
  if (!st.ok()) return st;
  return *core_.ack_for(client_seq);
}

Status Client::WaitForItems(size_t n, int timeout_ms) {
  return WaitUntil([&] { return core_.inbox().size() >= n; }, timeout_ms,
                   std::to_string(n) + " inbox items (have " +
                       std::to_string(core_.inbox().size()) + ")");
}

Status Client::RoundTrip(int timeout_ms) {
  if (!connected()) return last_error();
  uint64_t nonce = core_.SendPing();
  Stage();
  return WaitUntil([&] { return core_.pong_received(nonce); }, timeout_ms, "Pong");
}

Status Client::AckInbox() {
  core_.AckInbox();
  Stage();
  return Flush(options_.io_timeout_ms);
}

Result<wire::Message> Client::Request(wire::Message request) {
  if (!authenticated()) {
    return last_error().ok() ? Status(Code::kUnauthenticated, "not connected") : last_error();
  }
  uint32_t id = core_.Request(std::move(request));
  Stage();
  std::optional<wire::Message> reply;
  Status st = WaitUntil(
      [&] {
        if (!reply) reply = core_.TakeReply(id);
        return reply.has_value();
      },
      options_.io_timeout_ms, "reply to request " + std::to_string(id));
  if (!st.ok()) return st;
  return std::move(*reply);
}

Result<uint64_t> Client::ResolvePhone(const std::string& phone) {
  Result<wire::Message> r = Request(wire::ResolvePhone{0, phone});
  if (!r.ok()) return r.status();
  if (const auto* resolved = std::get_if<wire::Resolved>(&r.value())) return resolved->user_id;
  return ReplyStatus(r.value(), "Resolved");
}

Result<wire::LinkCode> Client::CreateLinkCode() {
  Result<wire::Message> r = Request(wire::CreateLinkCode{0});
  if (!r.ok()) return r.status();
  if (auto* code = std::get_if<wire::LinkCode>(&r.value())) return std::move(*code);
  return ReplyStatus(r.value(), "LinkCode");
}

Result<std::vector<wire::DeviceInfo>> Client::ListDevices() {
  Result<wire::Message> r = Request(wire::ListDevices{0});
  if (!r.ok()) return r.status();
  if (auto* list = std::get_if<wire::DeviceList>(&r.value())) return std::move(list->devices);
  return ReplyStatus(r.value(), "DeviceList");
}

Status Client::UnlinkDevice(uint32_t device_id) {
  Result<wire::Message> r = Request(wire::UnlinkDevice{0, device_id});
  if (!r.ok()) return r.status();
  return ReplyStatus(r.value(), "Reply");
}

Result<wire::GroupInfo> Client::CreateGroup(const std::string& name, std::vector<uint64_t> members) {
  Result<wire::Message> r = Request(wire::CreateGroup{0, name, std::move(members)});
  if (!r.ok()) return r.status();
  if (auto* info = std::get_if<wire::GroupInfo>(&r.value())) {
    if (info->status != Code::kOk) return Status(info->status, "group not created");
    return std::move(*info);
  }
  return ReplyStatus(r.value(), "GroupInfo");
}

Result<uint64_t> Client::ChangeGroup(uint64_t group_id, wire::GroupOp op, uint64_t user_id,
                                     const std::string& name) {
  Result<wire::Message> r = Request(wire::GroupChange{0, group_id, op, user_id, name});
  if (!r.ok()) return r.status();
  Status st = ReplyStatus(r.value(), "Reply");
  if (!st.ok()) return st;
  // The Reply's message carries the event's chat seq ("no change" when nothing happened).
  const std::string& msg = std::get<wire::Reply>(r.value()).message;
  uint64_t seq = 0;
  for (char ch : msg) {
    if (ch < '0' || ch > '9') return uint64_t{0};
    seq = seq * 10 + static_cast<uint64_t>(ch - '0');
  }
  return seq;
}

Result<wire::GroupInfo> Client::GetGroup(uint64_t group_id) {
  Result<wire::Message> r = Request(wire::GetGroup{0, group_id});
  if (!r.ok()) return r.status();
  if (auto* info = std::get_if<wire::GroupInfo>(&r.value())) {
    if (info->status != Code::kOk) return Status(info->status, "no such group");
    return std::move(*info);
  }
  return ReplyStatus(r.value(), "GroupInfo");
}

Status Client::MarkRead(uint64_t peer_user, uint64_t group_id, uint64_t chat_seq) {
  Result<wire::Message> r = Request(wire::ReadMark{0, peer_user, group_id, chat_seq});
  if (!r.ok()) return r.status();
  TERN_RETURN_IF_ERROR(ReplyStatus(r.value(), "Reply"));
  if (history() == nullptr) return Status::Ok();
  return history()->MarkRead(group_id != 0 ? ChatId::Group(group_id) : ChatId::Direct(peer_user), chat_seq);
}

Result<wire::ReceiptList> Client::GetReceipts(uint64_t peer_user, uint64_t group_id) {
  Result<wire::Message> r = Request(wire::GetReceipts{0, peer_user, group_id});
  if (!r.ok()) return r.status();
  if (auto* list = std::get_if<wire::ReceiptList>(&r.value())) {
    if (list->status != Code::kOk) return Status(list->status, "receipts refused");
    return std::move(*list);
  }
  return ReplyStatus(r.value(), "ReceiptList");
}

Status Client::Watch(std::vector<uint64_t> users) {
  if (!authenticated()) return Status(Code::kUnauthenticated, "not connected");
  core_.Watch(std::move(users));
  Stage();
  return Flush(options_.io_timeout_ms);
}

Status Client::SetActive(bool active) {
  if (!authenticated()) return Status(Code::kUnauthenticated, "not connected");
  core_.SetActive(active);
  Stage();
  return Flush(options_.io_timeout_ms);
}

Status Client::SetProfile(const wire::SetProfile& change) {
  Result<wire::Message> r = Request(change);
  if (!r.ok()) return r.status();
  return ReplyStatus(r.value(), "Reply");
}

namespace {
Result<std::vector<wire::Profile>> ProfilesOf(Result<wire::Message> r) {
  if (!r.ok()) return r.status();
  if (auto* p = std::get_if<wire::Profiles>(&r.value())) {
    if (p->status == Code::kRateLimited)
      return Status(Code::kRateLimited, "lookups exhausted; retry in " +
                                            std::to_string(p->retry_after_ms / 1000 + 1) + " s");
    if (p->status != Code::kOk) return Status(p->status, "refused by the server");
    return std::move(p->profiles);
  }
  return ReplyStatus(r.value(), "Profiles");
}
}  // namespace

Result<std::vector<wire::Profile>> Client::GetProfiles(std::vector<uint64_t> users) {
  return ProfilesOf(Request(wire::GetProfiles{0, std::move(users)}));
}

Result<std::vector<wire::Profile>> Client::SyncContacts(std::vector<std::string> phones) {
  return ProfilesOf(Request(wire::SyncContacts{0, std::move(phones)}));
}

namespace {

Result<wire::AssetTicket> TicketOf(Result<wire::Message> r) {
  if (!r.ok()) return r.status();
  if (auto* t = std::get_if<wire::AssetTicket>(&r.value())) {
    if (t->status != Code::kOk) return Status(t->status, "asset ticket refused");
    return std::move(*t);
  }
  return ReplyStatus(r.value(), "AssetTicket");
}

}  // namespace

Result<wire::AssetTicket> Client::GetUploadTicket(uint64_t size, const std::string& mime, const std::string& sha256,
                                                  uint64_t asset_id) {
  return TicketOf(Request(wire::GetUploadTicket{0, size, mime, sha256, asset_id}));
}

Result<wire::AssetTicket> Client::GetDownloadTicket(uint64_t asset_id) {
  return TicketOf(Request(wire::GetDownloadTicket{0, asset_id}));
}

void Client::Close() {
  if (!connected()) return;
  Stage();
  Flush(options_.io_timeout_ms).IgnoreError();  // best effort: closing anyway
  if (transport_) transport_->Close();
  transport_.reset();
  out_.clear();
  core_.OnDisconnected(Status(Code::kUnavailable, "closed by client"));
}

void Client::Abort(bool rst) {
  if (!transport_) return;
  transport_->Abort(rst);
  transport_.reset();
  out_.clear();
  core_.OnDisconnected(Status(Code::kUnavailable, "aborted by client"));
}

}  // namespace tern::tools
