// Social: per-user profile (status text, availability, last-seen privacy and time, the contact
// discovery budget) and the contact list found by discovery, over a KvTxn.
//
// "Related" users are the ones allowed to see each other's presence and profile: they share a
// 1:1 chat (a message was ever exchanged), a group, or one found the other by phone number.
//
// Layout:
//   kProfiles BE64 user_id                     -> ProfileRecord (version 1, varints/strings)
//   kContacts BE64 owner | BE64 contact        -> ""
//
// Thread safety: as the KvTxn it wraps.
#pragma once

#include <cstdint>
#include <string>

#include "store/kv.h"

namespace tern::store {

struct ProfileRecord {
  std::string status;              // short text status ("about")
  uint8_t availability = 0;        // wire::Availability
  uint8_t last_seen_visibility = 0;  // wire::Visibility
  uint64_t updated_ms = 0;         // when status/availability last changed
  uint64_t last_seen_ms = 0;       // when the user's last connection went away (0 = never)
  // Contact discovery token bucket (server/handle_social.cc): tokens left, last refill time.
  uint64_t discovery_tokens = 0;
  uint64_t discovery_refill_ms = 0;
  bool discovery_started = false;  // false: the bucket starts full
  bool operator==(const ProfileRecord&) const = default;
};

class Social {
 public:
  explicit Social(KvTxn& txn) : txn_(txn) {}

  // The profile of `user` (a default record when none was stored). Errors: kCorrupt, engine.
  Result<ProfileRecord> GetProfile(uint64_t user);
  Status PutProfile(uint64_t user, const ProfileRecord& p);

  Status AddContact(uint64_t owner, uint64_t contact);
  Result<bool> HasContact(uint64_t owner, uint64_t contact);

  // Whether `a` and `b` may see each other's presence and profile (see above); a == b is true.
  Result<bool> Related(uint64_t a, uint64_t b);

 private:
  KvTxn& txn_;
};

}  // namespace tern::store
