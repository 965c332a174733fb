// Message metadata: names, directions and the pre-authentication allowance (wire/messages.h).
// The encoder and decoder live in messages_encode.cc and messages_decode.cc.
#include "wire/messages.h"

#include <type_traits>
#include <variant>

namespace tern::wire {
namespace {

template <typename T>
struct Traits;

// One row per message: name, who may send it, and whether it may travel before the session is
// authenticated. Keep in the order of the Message variant (and of union Msg in tern.fbs).
#define TERN_MESSAGE_TRAITS(T, dir, preauth)                   \
  template <>                                                 \
  struct Traits<T> {                                          \
    static constexpr const char* kName = #T;                  \
    static constexpr Direction kDirection = Direction::dir;   \
    static constexpr bool kBeforeAuth = preauth;              \
  };

TERN_MESSAGE_TRAITS(RequestCode, kClientToServer, true)
TERN_MESSAGE_TRAITS(Verify, kClientToServer, true)
TERN_MESSAGE_TRAITS(Link, kClientToServer, true)
TERN_MESSAGE_TRAITS(Resume, kClientToServer, true)
TERN_MESSAGE_TRAITS(CodeSent, kServerToClient, true)
TERN_MESSAGE_TRAITS(Welcome, kServerToClient, true)
TERN_MESSAGE_TRAITS(Send, kClientToServer, false)
TERN_MESSAGE_TRAITS(InboxAck, kClientToServer, false)
TERN_MESSAGE_TRAITS(ResolvePhone, kClientToServer, false)
TERN_MESSAGE_TRAITS(CreateLinkCode, kClientToServer, false)
TERN_MESSAGE_TRAITS(ListDevices, kClientToServer, false)
TERN_MESSAGE_TRAITS(UnlinkDevice, kClientToServer, false)
TERN_MESSAGE_TRAITS(SendAck, kServerToClient, false)
TERN_MESSAGE_TRAITS(Deliver, kServerToClient, false)
TERN_MESSAGE_TRAITS(Resolved, kServerToClient, false)
TERN_MESSAGE_TRAITS(LinkCode, kServerToClient, false)
TERN_MESSAGE_TRAITS(DeviceList, kServerToClient, false)
TERN_MESSAGE_TRAITS(Reply, kServerToClient, false)
// Ping/Pong/Error go both ways at any time: either side may probe liveness or give up during the
// handshake (e.g. the server pings a slow handshake, the client answers Pong).
TERN_MESSAGE_TRAITS(Ping, kBoth, true)
TERN_MESSAGE_TRAITS(Pong, kBoth, true)
TERN_MESSAGE_TRAITS(Error, kBoth, true)
TERN_MESSAGE_TRAITS(CreateGroup, kClientToServer, false)
TERN_MESSAGE_TRAITS(GroupChange, kClientToServer, false)
TERN_MESSAGE_TRAITS(GetGroup, kClientToServer, false)
TERN_MESSAGE_TRAITS(GroupInfo, kServerToClient, false)
TERN_MESSAGE_TRAITS(ReadMark, kClientToServer, false)
TERN_MESSAGE_TRAITS(GetReceipts, kClientToServer, false)
TERN_MESSAGE_TRAITS(ReceiptList, kServerToClient, false)
TERN_MESSAGE_TRAITS(SetPresence, kClientToServer, false)
TERN_MESSAGE_TRAITS(SubscribePresence, kClientToServer, false)
TERN_MESSAGE_TRAITS(Presence, kServerToClient, false)
TERN_MESSAGE_TRAITS(SetProfile, kClientToServer, false)
TERN_MESSAGE_TRAITS(GetProfiles, kClientToServer, false)
TERN_MESSAGE_TRAITS(Profiles, kServerToClient, false)
TERN_MESSAGE_TRAITS(SyncContacts, kClientToServer, false)
TERN_MESSAGE_TRAITS(GetUploadTicket, kClientToServer, false)
TERN_MESSAGE_TRAITS(GetDownloadTicket, kClientToServer, false)
TERN_MESSAGE_TRAITS(AssetTicket, kServerToClient, false)

#undef TERN_MESSAGE_TRAITS

template <typename T>
using TraitsOf = Traits<std::decay_t<T>>;

}  // namespace

const char* MessageName(const Message& m) {
  return std::visit([](const auto& v) { return TraitsOf<decltype(v)>::kName; }, m);
}

Direction DirectionOf(const Message& m) {
  return std::visit([](const auto& v) { return TraitsOf<decltype(v)>::kDirection; }, m);
}

bool AllowedBeforeAuth(const Message& m) {
  return std::visit([](const auto& v) { return TraitsOf<decltype(v)>::kBeforeAuth; }, m);
}

}  // namespace tern::wire
