#include "store/social.h"

#include "store/codec.h"
#include "store/groups.h"
#include "store/mailbox.h"

namespace tern::store {
namespace {

constexpr uint8_t kVersion = 1;

std::string ContactKey(uint64_t owner, uint64_t contact) {
  std::string k = codec::BE64(owner);
  codec::AppendBE64(k, contact);
  return k;
}

}  // namespace

Result<ProfileRecord> Social::GetProfile(uint64_t user) {
  auto v = txn_.Get(Table::kProfiles, codec::BE64(user));
  if (!v.ok()) return v.status();
  ProfileRecord p;
  if (!v.value()) return p;
  codec::RecordReader r(*v.value(), "profile");
  r.Version(kVersion);
  p.status = r.Str();
  p.availability = r.U8();
  p.last_seen_visibility = r.U8();
  p.updated_ms = r.U64();
  p.last_seen_ms = r.U64();
  p.discovery_tokens = r.U64();
  p.discovery_refill_ms = r.U64();
  p.discovery_started = r.U8() != 0;
  TERN_RETURN_IF_ERROR(r.Finish());
  return p;
}

Status Social::PutProfile(uint64_t user, const ProfileRecord& p) {
  codec::RecordWriter w(kVersion);
  w.Str(p.status).U64(p.availability).U64(p.last_seen_visibility).U64(p.updated_ms)
      .U64(p.last_seen_ms).U64(p.discovery_tokens).U64(p.discovery_refill_ms)
      .U64(p.discovery_started ? 1 : 0);
  return txn_.Put(Table::kProfiles, codec::BE64(user), w.Finish());
}

Status Social::AddContact(uint64_t owner, uint64_t contact) {
  return txn_.Put(Table::kContacts, ContactKey(owner, contact), "");
}

Result<bool> Social::HasContact(uint64_t owner, uint64_t contact) {
  auto v = txn_.Get(Table::kContacts, ContactKey(owner, contact));
  if (!v.ok()) return v.status();
  return v.value().has_value();
}

Result<bool> Social::Related(uint64_t a, uint64_t b) {
  if (a == b) return true;
  auto direct = Mailbox(txn_).LastChatSeq(ChatKey::Direct(a, b));
  if (!direct.ok()) return direct.status();
  if (direct.value() != 0) return true;
  for (auto [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
    auto c = HasContact(x, y);
    if (!c.ok()) return c.status();
    if (c.value()) return true;
  }
  return Groups(txn_).ShareAGroup(a, b);
}

}  // namespace tern::store
