// Shared helpers of the tern command-line client (tools/tern_cli.h).
#include "tools/tern_cli.h"
#include "tools/tern_media.h"

#include <cstdio>
#include <cstdlib>

namespace tern::tools {

int Fail(const std::string& what, const Status& st) {
  std::fprintf(stderr, "tern: %s: %s\n", what.c_str(), st.ToString().c_str());
  if (st.message().find("certificate") != std::string::npos) {
    std::fprintf(stderr, "tern: trust the server with --pin FINGERPRINT (ternd prints it; also in "
                         "<ternd data>/tls/cert.sha256) or --ca FILE\n");
  } else if (st.message().find("TLS") != std::string::npos) {
    std::fprintf(stderr, "tern: if the server runs with --plain-tcp, use --plain\n");
  }
  return 1;
}

namespace {

const char* GroupOpName(wire::GroupOp op) {
  switch (op) {
    case wire::GroupOp::kCreate: return "created the group";
    case wire::GroupOp::kAdd: return "added";
    case wire::GroupOp::kRemove: return "removed";
    case wire::GroupOp::kLeave: return "left";
    case wire::GroupOp::kRename: return "renamed the group to";
    case wire::GroupOp::kPromote: return "made admin";
    case wire::GroupOp::kDemote: return "took admin from";
    case wire::GroupOp::kNone: break;
  }
  return "?";
}

}  // namespace

std::string ItemLine(const wire::InboxItem& it) {
  // Group items carry their group id: "{group 123} [5] 42: hello".
  const std::string where = it.group_id != 0 ? "{group " + std::to_string(it.group_id) + "} " : "";
  switch (it.kind) {
    case wire::ItemKind::kMessage:
      return where + "[" + std::to_string(it.chat_seq) + "] " + std::to_string(it.sender_user) +
             ": " + it.text + AssetsSuffix(it);
    case wire::ItemKind::kGroupEvent: {
      std::string line = where + "[" + std::to_string(it.chat_seq) + "] * ";
      if (it.event == wire::GroupOp::kLeave) return line + std::to_string(it.event_user) + " left";
      line += std::to_string(it.sender_user) + " " + GroupOpName(it.event);
      if (it.event == wire::GroupOp::kCreate || it.event == wire::GroupOp::kRename)
        return line + " \"" + it.text + "\"";
      return line + " " + std::to_string(it.event_user);
    }
    case wire::ItemKind::kExpired:
      return "[" + std::to_string(it.chat_seq) + "] (your message " + std::to_string(it.msg_id) +
             " to " + std::to_string(it.to_user) + " expired undelivered)";
    case wire::ItemKind::kMissed:
      return "[" + std::to_string(it.chat_seq) + "] (message " + std::to_string(it.msg_id) +
             " from " + std::to_string(it.sender_user) + " expired before it reached you)";
    case wire::ItemKind::kReceipt: {
      // "{group 123} (receipt) 42 read up to [7]" / "(receipt) 42 delivered up to [7]"
      const char* what = it.receipt == wire::ReceiptType::kRead ? "read" : "delivered";
      return where + "(receipt) " + std::to_string(it.sender_user) + " " + what + " up to [" +
             std::to_string(it.chat_seq) + "]";
    }
  }
  return "";
}

// Resumes the stored device and warns about lost items. Returns 0 or an exit code.
int Connect(Client& c) {
  Result<wire::Welcome> w = c.Resume();
  if (!w.ok()) return Fail("resume", w.status());
  if (w->epoch_changed) {
    std::fprintf(stderr, "tern: warning: messages were lost while away (inbox reset)\n");
  }
  return 0;
}

// PHONE (starting with '+') is resolved; a bare number is a user id.
Result<uint64_t> Recipient(Client& c, const std::string& who) {
  if (!who.empty() && who[0] != '+') {
    char* end = nullptr;
    uint64_t id = std::strtoull(who.c_str(), &end, 10);
    if (end == who.c_str() || *end != '\0' || id == 0) {
      return Status(Code::kInvalidArgument, "'" + who + "' is neither +PHONE nor a user id");
    }
    return id;
  }
  Result<uint64_t> id = c.ResolvePhone(who);
  if (id.ok() && *id == 0) return Status(Code::kNotFound, who + " is not registered");
  return id;
}

}  // namespace tern::tools
