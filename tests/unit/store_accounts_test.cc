#include "store/accounts.h"

#include <gtest/gtest.h>

#include "tests/unit/store_test_env.h"

namespace tern::store::testing {
namespace {

class AccountsTest : public BackendTest {};

DeviceRecord Device(uint64_t user, uint32_t id, std::string name) {
  DeviceRecord d;
  d.user_id = user;
  d.device_id = id;
  d.name = std::move(name);
  d.token_hash = std::string(32, static_cast<char>(id));
  d.client_seq_high = 7 * id;
  d.client_seq_confirmed = 5 * id;
  d.created_ms = 1000 + id;
  d.last_seen_ms = 2000 + id;
  return d;
}

TEST_P(AccountsTest, UserRoundTripsAndPhoneIndexFindsIt) {
  auto w = Begin(true);
  Accounts a(*w);
  UserRecord u{42, "+4915112345678", 3, 1700000000000};
  TERN_ASSERT_OK(a.PutUser(u));
  TERN_ASSERT_OK(w->Commit());

  auto r = Begin(false);
  Accounts ra(*r);
  auto got = ra.GetUser(42);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got.value().has_value());
  EXPECT_EQ(42u, got.value()->user_id);
  EXPECT_EQ("+4915112345678", got.value()->phone);
  EXPECT_EQ(3u, got.value()->next_device_id);
  EXPECT_EQ(1700000000000u, got.value()->created_ms);
  EXPECT_EQ(std::optional<uint64_t>(42), ra.FindUserByPhone("+4915112345678").value());
  EXPECT_EQ(std::nullopt, ra.FindUserByPhone("+1555").value());
  EXPECT_EQ(std::nullopt, ra.FindUserByPhone("").value());
  EXPECT_FALSE(ra.GetUser(43).value().has_value());
}

TEST_P(AccountsTest, ChangingThePhoneMovesTheIndexEntry) {
  auto w = Begin(true);
  Accounts a(*w);
  TERN_ASSERT_OK(a.PutUser(UserRecord{1, "+111", 1, 0}));
  TERN_ASSERT_OK(a.PutUser(UserRecord{1, "+222", 1, 0}));
  EXPECT_EQ(std::nullopt, a.FindUserByPhone("+111").value());
  EXPECT_EQ(std::optional<uint64_t>(1), a.FindUserByPhone("+222").value());
}

TEST_P(AccountsTest, EmptyPhoneIsInvalidArgument) {
  auto w = Begin(true);
  EXPECT_EQ(Code::kInvalidArgument, Accounts(*w).PutUser(UserRecord{1, "", 1, 0}).code());
}

TEST_P(AccountsTest, DevicesListInDeviceIdOrderPerUserOnly) {
  auto w = Begin(true);
  Accounts a(*w);
  for (uint32_t id : {300u, 2u, 10u}) TERN_ASSERT_OK(a.PutDevice(Device(1, id, "d")));
  TERN_ASSERT_OK(a.PutDevice(Device(0, 1, "neighbour below")));
  TERN_ASSERT_OK(a.PutDevice(Device(2, 1, "neighbour above")));
  TERN_ASSERT_OK(a.PutDevice(Device(256, 1, "shares a byte with user 1")));
  TERN_ASSERT_OK(w->Commit());

  auto r = Begin(false);
  auto list = Accounts(*r).ListDevices(1);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<uint32_t> ids;
  for (const auto& d : list.value()) ids.push_back(d.device_id);
  EXPECT_EQ((std::vector<uint32_t>{2, 10, 300}), ids);
  const DeviceRecord& d = list.value()[1];
  EXPECT_EQ(1u, d.user_id);
  EXPECT_EQ(std::string(32, '\x0a'), d.token_hash);
  EXPECT_EQ(70u, d.client_seq_high);
  EXPECT_EQ(50u, d.client_seq_confirmed);
  EXPECT_EQ(1010u, d.created_ms);
  EXPECT_EQ(2010u, d.last_seen_ms);
  EXPECT_TRUE(Accounts(*r).ListDevices(3).value().empty());
}

TEST_P(AccountsTest, DeleteDeviceRemovesOnlyThatDevice) {
  auto w = Begin(true);
  Accounts a(*w);
  TERN_ASSERT_OK(a.PutDevice(Device(5, 1, "phone")));
  TERN_ASSERT_OK(a.PutDevice(Device(5, 2, "laptop")));
  TERN_ASSERT_OK(a.DeleteDevice(5, 1));
  TERN_ASSERT_OK(a.DeleteDevice(5, 99));  // absent: ok
  EXPECT_FALSE(a.GetDevice(5, 1).value().has_value());
  auto laptop = a.GetDevice(5, 2);
  ASSERT_TRUE(laptop.ok() && laptop.value().has_value());
  EXPECT_EQ("laptop", laptop.value()->name);
  EXPECT_EQ(1u, a.ListDevices(5).value().size());
}

TEST_P(AccountsTest, OtpAndLinkRecordsRoundTripAndDelete) {
  auto w = Begin(true);
  Accounts a(*w);
  TERN_ASSERT_OK(a.PutOtp("+333", OtpRecord{std::string(32, 'h'), 9000, 2, 8000}));
  TERN_ASSERT_OK(a.PutLink("ABC-123", LinkRecord{77, 1, 5000}));
  TERN_ASSERT_OK(w->Commit());

  w = Begin(true);
  Accounts b(*w);
  auto otp = b.GetOtp("+333");
  ASSERT_TRUE(otp.ok() && otp.value().has_value());
  EXPECT_EQ(std::string(32, 'h'), otp.value()->code_hash);
  EXPECT_EQ(9000u, otp.value()->expires_ms);
  EXPECT_EQ(2u, otp.value()->attempts);
  EXPECT_EQ(8000u, otp.value()->issued_ms);
  auto link = b.GetLink("ABC-123");
  ASSERT_TRUE(link.ok() && link.value().has_value());
  EXPECT_EQ(77u, link.value()->user_id);
  EXPECT_EQ(1u, link.value()->issuer_device);
  EXPECT_EQ(5000u, link.value()->expires_ms);
  TERN_ASSERT_OK(b.DeleteOtp("+333"));
  TERN_ASSERT_OK(b.DeleteLink("ABC-123"));
  EXPECT_FALSE(b.GetOtp("+333").value().has_value());
  EXPECT_FALSE(b.GetLink("ABC-123").value().has_value());
  EXPECT_FALSE(b.GetLink("").value().has_value());
}

TEST_P(AccountsTest, UndecodableRecordIsCorrupt) {
  auto w = Begin(true);
  TERN_ASSERT_OK(w->Put(Table::kUsers, std::string(7, '\0') + "\x09", "\x01\x09"));
  TERN_ASSERT_OK(w->Put(Table::kDevices, std::string(7, '\0') + "\x09" + std::string(3, '\0') + "\x01",
                        "\x02garbage"));
  Accounts a(*w);
  EXPECT_EQ(Code::kCorrupt, a.GetUser(9).status().code());
  EXPECT_EQ(Code::kCorrupt, a.GetDevice(9, 1).status().code());
  EXPECT_EQ(Code::kCorrupt, a.ListDevices(9).status().code());
}

INSTANTIATE_TEST_SUITE_P(Backends, AccountsTest, ::testing::Values(Backend::kMem, Backend::kLmdb),
                         BackendName);

}  // namespace
}  // namespace tern::store::testing
