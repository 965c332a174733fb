// Media handlers: GetUploadTicket, GetDownloadTicket (answered by AssetTicket), and the checks
// a Send with asset references must pass. The rules live in AssetService (server/asset_service.h);
// this file maps them onto the protocol (wire/PROTOCOL.md §5).
#include "server/core.h"
#include "server/core_conn.h"

namespace tern::server {
namespace {

wire::AssetTicket ToWire(uint32_t req_id, const AssetTicket& t) {
  wire::AssetTicket w;
  w.req_id = req_id;
  w.asset_id = t.asset_id;
  w.method = t.method;
  w.url = t.url;
  for (const auto& [n, v] : t.headers) w.headers.push_back(wire::HttpHeader{n, v});
  w.expires_ms = t.expires_ms;
  w.size = t.size;
  w.mime = t.mime;
  w.sha256 = t.sha256;
  return w;
}

}  // namespace

void Core::HandleGetUploadTicket(Conn& c, const wire::GetUploadTicket& m, uint64_t now_ms) {
  wire::AssetTicket answer;
  answer.req_id = m.req_id;
  store::KvTxn* t = Txn();
  if (assets_ == nullptr || t == nullptr) {
    answer.status = Code::kUnavailable;
  } else {
    uint64_t id = m.asset_id;
    while (id == 0) id = entropy_.U64();  // random: ids from several nodes never collide in practice
    auto ticket = m.asset_id != 0
                      ? assets_->RenewUpload(*t, c.dev.user_id, id, m.size, m.sha256, now_ms)
                      : assets_->CreateUpload(*t, c.dev.user_id, c.dev.device_id, id, m.size, m.mime, m.sha256, now_ms);
    if (ticket.ok()) {
      answer = ToWire(m.req_id, *ticket);
    } else if (ticket.status().code() == Code::kInvalidArgument || ticket.status().code() == Code::kNotFound ||
               ticket.status().code() == Code::kForbidden) {
      answer.status = ticket.status().code();
    } else {
      FailTurn(ticket.status());
      answer.status = Code::kUnavailable;
    }
  }
  // The record must be durable before the client uploads against it.
  Stage(c.id, [this, id = c.id, answer = std::move(answer)](bool committed) mutable {
    Conn* k = Find(id);
    if (k == nullptr) return;
    if (!committed) answer = wire::AssetTicket{answer.req_id, Code::kUnavailable};
    k->session.Send(answer);
    MarkDirty(id);
  });
}

void Core::HandleGetDownloadTicket(Conn& c, const wire::GetDownloadTicket& m, uint64_t now_ms) {
  wire::AssetTicket answer;
  answer.req_id = m.req_id;
  store::KvTxn* t = Txn();
  if (assets_ == nullptr || t == nullptr) {
    answer.status = Code::kUnavailable;
  } else {
    auto ticket = assets_->CreateDownload(*t, c.dev.user_id, m.asset_id, now_ms);
    if (ticket.ok()) {
      answer = ToWire(m.req_id, *ticket);
    } else if (ticket.status().code() == Code::kNotFound || ticket.status().code() == Code::kForbidden) {
      answer.status = ticket.status().code();
    } else {
      FailTurn(ticket.status());
      answer.status = Code::kUnavailable;
    }
  }
  Stage(c.id, [this, id = c.id, answer = std::move(answer)](bool) {
    if (Conn* k = Find(id)) {
      k->session.Send(answer);
      MarkDirty(id);
    }
  });
}

Code Core::CheckSendAssets(store::KvTxn& t, const wire::Send& m, uint64_t user) {
  if (m.assets.empty()) return Code::kOk;
  if (assets_ == nullptr) return Code::kUnavailable;
  if (m.assets.size() > config_.max_assets_per_message) return Code::kInvalidArgument;
  for (const auto& a : m.assets) {
    if (a.thumbnail.size() > config_.max_thumbnail_bytes || a.name.size() > 255 || a.mime.size() > 127)
      return Code::kInvalidArgument;
    Status s = assets_->CheckAttach(t, user, a.asset_id, a.size, a.sha256);
    if (!s.ok()) {
      if (s.code() == Code::kNotFound || s.code() == Code::kForbidden || s.code() == Code::kInvalidArgument)
        return s.code();
      FailTurn(s);
      return Code::kUnavailable;
    }
  }
  return Code::kOk;
}

}  // namespace tern::server
