// Helpers shared by the tern command-line client's subcommands (tools/tern.cc,
// tools/tern_social.cc). Every function prints its own error line on stderr.
#pragma once

#include <string>

#include "tools/client/client.h"

namespace tern::tools {

// Prints "tern: WHAT: STATUS" (plus a TLS hint when it applies) and returns exit code 1.
int Fail(const std::string& what, const Status& st);
// One line for an inbox item: a message, a group event, an expiry notice or a receipt.
std::string ItemLine(const wire::InboxItem& it);
// Resumes the stored device and warns about lost items. Returns 0 or an exit code.
int Connect(Client& c);
// PHONE (starting with '+') is resolved; a bare number is a user id.
Result<uint64_t> Recipient(Client& c, const std::string& who);

// Receipts, presence, profiles, contacts (tools/tern_social.cc). Each connects, does its
// requests, prints, and closes; returns the exit code.
struct SocialArgs {
  std::string peer;                // +PHONE or user id (1:1 chat)
  uint64_t group = 0;              // or a group id
  uint64_t chat_seq = 0;           // read: up to this chat seq
  std::vector<std::string> users;  // presence / profile get: +PHONE or user ids
  std::vector<std::string> phones; // contacts
  std::string status, availability, last_seen;  // profile set
  bool set_status = false;
  double follow_s = 0;             // presence: keep printing updates this long
};
int RunRead(Client& c, const SocialArgs& a);
int RunReceipts(Client& c, const SocialArgs& a);
int RunPresence(Client& c, const SocialArgs& a);
int RunProfileSet(Client& c, const SocialArgs& a);
int RunProfileGet(Client& c, const SocialArgs& a);
int RunContacts(Client& c, const SocialArgs& a);

}  // namespace tern::tools
