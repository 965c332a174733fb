// Linked devices against the real ternd: one order on every device, unlinking.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"

namespace tern::testing {
namespace {

struct Entry {
  uint64_t chat_seq = 0;
  uint64_t msg_id = 0;
  std::string text;
  bool operator==(const Entry&) const = default;
};

// A device's history of the chat: what it received plus what it sent itself (from its sent
// acks), ordered by chat seq.
std::vector<Entry> History(const Client& c, const std::map<uint64_t, std::string>& sent_texts) {
  std::vector<Entry> h;
  for (const wire::InboxItem& it : c.inbox()) h.push_back({it.chat_seq, it.msg_id, it.text});
  for (const auto& [seq, text] : sent_texts) {
    const wire::SendAck* ack = c.core().ack_for(seq);
    if (ack != nullptr) h.push_back({ack->chat_seq, ack->msg_id, text});
  }
  std::sort(h.begin(), h.end(), [](const Entry& x, const Entry& y) {
    return x.chat_seq < y.chat_seq;
  });
  return h;
}

TEST(DevicesTest, MultiDeviceConvergesOnOneOrder) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto a1 = RegisterUser(server, "+15550700001");
  ASSERT_TRUE(a1.ok()) << a1.status().ToString();
  auto b1 = RegisterUser(server, "+15550700002");
  ASSERT_TRUE(b1.ok()) << b1.status().ToString();
  auto a2 = LinkDevice(server, **a1, "alice laptop");
  ASSERT_TRUE(a2.ok()) << a2.status().ToString();
  auto b2 = LinkDevice(server, **b1, "bob tablet");
  ASSERT_TRUE(b2.ok()) << b2.status().ToString();
  Client* devices[4] = {a1->get(), a2->get(), b1->get(), b2->get()};
  EXPECT_EQ(devices[0]->state().user_id, devices[1]->state().user_id);
  EXPECT_EQ(devices[2]->state().user_id, devices[3]->state().user_id);
  EXPECT_NE(devices[0]->state().device_id, devices[1]->state().device_id);
  EXPECT_NE(devices[2]->state().device_id, devices[3]->state().device_id);
  const uint64_t alice = devices[0]->state().user_id, bob = devices[2]->state().user_id;

  // Interleaved sends from three devices; a1 and b1 concurrently, a2 now and then.
  std::map<uint64_t, std::string> sent[4];  // per device: client_seq -> text
  int total = 0;
  for (int i = 0; i < 30; ++i) {
    auto send = [&](int d, uint64_t to, const std::string& text) {
      Result<uint64_t> seq = devices[d]->Send(to, text);
      ASSERT_TRUE(seq.ok());
      sent[d][*seq] = text;
      ++total;
    };
    send(0, bob, "a1-" + std::to_string(i));
    send(2, alice, "b1-" + std::to_string(i));
    if (i % 3 == 0) send(1, bob, "a2-" + std::to_string(i));
  }
  std::vector<Client*> all(devices, devices + 4);
  auto settled = [&] {
    for (int d = 0; d < 4; ++d) {
      if (!devices[d]->state().unacked.empty()) return false;
      size_t own = sent[d].size();
      if (devices[d]->inbox().size() + own < static_cast<size_t>(total)) return false;
    }
    return true;
  };
  Status st = PollAll(all, settled, kWaitMs, "every device to see every message");
  ASSERT_TRUE(st.ok()) << st.ToString();
  for (Client* c : all) ASSERT_TRUE(c->RoundTrip(kWaitMs).ok());

  std::vector<Entry> reference = History(*devices[3], sent[3]);  // b2 sent nothing
  ASSERT_EQ(reference.size(), static_cast<size_t>(total));
  for (size_t i = 0; i < reference.size(); ++i) {
    EXPECT_EQ(reference[i].chat_seq, i + 1) << "chat seqs must have no gaps";
  }
  const char* names[4] = {"a1", "a2", "b1", "b2"};
  for (int d = 0; d < 4; ++d) {
    SCOPED_TRACE(names[d]);
    const Client& c = *devices[d];
    EXPECT_EQ(c.inbox().size() + sent[d].size(), static_cast<size_t>(total));
    for (const auto& [seq, text] : sent[d]) {
      EXPECT_EQ(c.core().ack_for(seq)->status, Code::kOk) << text;
    }
    for (size_t i = 1; i < c.inbox().size(); ++i) {
      ASSERT_LT(c.inbox()[i - 1].chat_seq, c.inbox()[i].chat_seq) << "arrival order, item " << i;
    }
    EXPECT_EQ(History(c, sent[d]), reference);
  }
  // A message from a1 reached a2 marked as alice's own.
  bool saw_own = false;
  for (const wire::InboxItem& it : devices[1]->inbox()) {
    if (it.text == "a1-0") {
      saw_own = true;
      EXPECT_EQ(it.sender_user, alice);
      EXPECT_EQ(it.sender_device, devices[0]->state().device_id);
      EXPECT_EQ(it.to_user, bob);
    }
  }
  EXPECT_TRUE(saw_own);
}

TEST(DevicesTest, UnlinkedDeviceIsRefused) {
  TestServer server;
  ASSERT_TRUE(server.Start().ok());
  auto a1 = RegisterUser(server, "+15550800001");
  ASSERT_TRUE(a1.ok()) << a1.status().ToString();
  auto a2 = LinkDevice(server, **a1, "old tablet");
  ASSERT_TRUE(a2.ok()) << a2.status().ToString();
  Client& primary = **a1;
  Client& tablet = **a2;
  const uint32_t tablet_id = tablet.state().device_id;

  auto list = primary.ListDevices();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  bool found = false;
  for (const wire::DeviceInfo& d : *list) {
    if (d.device_id == tablet_id) {
      found = true;
      EXPECT_EQ(d.name, "old tablet");
      EXPECT_TRUE(d.online);
    }
  }
  EXPECT_TRUE(found);

  ASSERT_TRUE(primary.UnlinkDevice(tablet_id).ok());
  // Its live connection is closed with bad_credentials...
  Status closed = tablet.WaitUntil([] { return false; }, kWaitMs, "the unlinked connection to close");
  EXPECT_EQ(closed.code(), Code::kBadCredentials) << closed.ToString();
  EXPECT_FALSE(tablet.connected());
  // ...and its token no longer resumes.
  Result<wire::Welcome> again = tablet.Resume();
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kBadCredentials) << again.status().ToString();

  auto after = primary.ListDevices();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].device_id, primary.state().device_id);
}

}  // namespace
}  // namespace tern::testing
