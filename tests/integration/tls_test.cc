// TLS 1.3 against the real ternd (its default: no --plain-tcp): chat, verification by pin and
// by CA file, session tickets kept across client and server restarts, 0-RTT Resume, and
// interop with `openssl s_client` (TLS 1.3, ALPN, -sess_out/-sess_in resumption).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/integration/client_util.h"
#include "tests/integration/server_util.h"
#include "tools/client/tls_transport.h"

namespace tern::testing {
namespace {

const tools::TlsTransport* Tls(const Client& c) {
  return dynamic_cast<const tools::TlsTransport*>(c.transport());
}

TEST(TlsTest, ChatOverTlsDeliversBothWays) {
  TestServer server({}, Security::kTls);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_EQ(server.fingerprint().size(), 95u) << server.fingerprint();
  auto alice = RegisterUser(server, "+15550600001");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  auto bob = RegisterUser(server, "+15550600002");
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  Client& a = **alice;
  Client& b = **bob;
  ASSERT_NE(Tls(a), nullptr);
  EXPECT_TRUE(Tls(a)->handshake_done());

  auto seqs = SendAll(a, b.state().user_id, Texts("over-tls", 20));
  ASSERT_TRUE(seqs.ok());
  auto acks = WaitForAcks(a, *seqs);
  ASSERT_TRUE(acks.ok()) << acks.status().ToString();
  ASSERT_TRUE(b.WaitForItems(20, kWaitMs).ok());
  EXPECT_EQ(InboxTexts(b), Texts("over-tls", 20));
  ASSERT_TRUE(b.Send(a.state().user_id, "reply").ok());
  ASSERT_TRUE(a.WaitForItems(1, kWaitMs).ok());
  EXPECT_EQ(InboxTexts(a), std::vector<std::string>{"reply"});
}

TEST(TlsTest, ResumeUsesTheTicketAndZeroRttAcrossClientAndServerRestarts) {
  TestServer server({}, Security::kTls);
  ASSERT_TRUE(server.Start().ok());
  const std::string state = server.root() + "/alice.state";
  auto bob = RegisterUser(server, "+15550600012");
  ASSERT_TRUE(bob.ok());
  {
    auto alice = RegisterUser(server, "+15550600011", {}, state);
    ASSERT_TRUE(alice.ok()) << alice.status().ToString();
    EXPECT_FALSE(Tls(**alice)->resumed());     // first contact: full handshake
    ASSERT_TRUE((*alice)->RoundTrip(kWaitMs).ok());  // the ticket arrives after the handshake
    (*alice)->Close();
  }
  std::ifstream ticket(state + ".tls");
  ASSERT_TRUE(ticket.good()) << "no ticket file next to the state file";

  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE(restart == 0 ? "client restart" : "client and server restart");
    if (restart == 1) {
      ASSERT_TRUE(server.Stop().ok());
      ASSERT_TRUE(server.Restart().ok());
      (*bob)->set_server("127.0.0.1", server.port());
      ASSERT_TRUE((*bob)->Resume().ok());
    }
    auto alice = Client::Create(server.ClientOptions(state));  // a new process, same files
    ASSERT_TRUE(alice.ok());
    auto sent = (*bob)->Send((*alice)->state().user_id, "while away " + std::to_string(restart));
    ASSERT_TRUE(sent.ok());
    ASSERT_TRUE((*bob)->WaitForAck(*sent, kWaitMs).ok());
    auto w = (*alice)->Resume();
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_NE(Tls(**alice), nullptr);
    EXPECT_TRUE(Tls(**alice)->resumed());
    EXPECT_TRUE(Tls(**alice)->early_data_sent());
    EXPECT_TRUE(Tls(**alice)->early_data_accepted());
    ASSERT_TRUE((*alice)->WaitForItems(1, kWaitMs).ok());
    EXPECT_EQ((*alice)->inbox().back().text, "while away " + std::to_string(restart));
    ASSERT_TRUE((*alice)->RoundTrip(kWaitMs).ok());
    (*alice)->Close();
  }
}

TEST(TlsTest, ZeroRttOffCanStillResumeTheTicket) {
  TestServer server({"--tls-max-early-data", "0"}, Security::kTls);
  ASSERT_TRUE(server.Start().ok());
  const std::string state = server.root() + "/a.state";
  auto a = RegisterUser(server, "+15550600021", {}, state);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE((*a)->RoundTrip(kWaitMs).ok());
  ASSERT_TRUE((*a)->Resume().ok());
  EXPECT_TRUE(Tls(**a)->resumed());
  EXPECT_FALSE(Tls(**a)->early_data_sent());
}

TEST(TlsTest, WrongPinIsRefusedAndCaFileIsAccepted) {
  TestServer server({}, Security::kTls);
  ASSERT_TRUE(server.Start().ok());
  Client::Options wrong = server.ClientOptions();
  wrong.tls.pin_sha256 = std::string(64, '0');
  auto c = Client::Create(wrong);
  ASSERT_TRUE(c.ok());
  auto sent = (*c)->RequestCode("+15550600031");
  ASSERT_FALSE(sent.ok());
  EXPECT_NE(sent.status().message().find("certificate"), std::string::npos) << sent.status().ToString();

  Client::Options ca = server.ClientOptions();
  ca.tls.pin_sha256.clear();
  ca.tls.ca_file = server.data_dir() + "/tls/cert.pem";  // self-signed: its own CA
  auto d = Client::Create(ca);
  ASSERT_TRUE(d.ok());
  auto ok = (*d)->RequestCode("+15550600032");
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();

  Client::Options plain = server.ClientOptions();
  plain.tls.enabled = false;  // a plain client: the server sees bytes that are not TLS
  auto p = Client::Create(plain);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE((*p)->RequestCode("+15550600033").ok());
}

// `openssl s_client` from the system: TLS 1.3, ALPN tern/1, then resumption from -sess_out.
TEST(TlsTest, OpensslSClientNegotiatesTls13AlpnAndResumes) {
  TestServer server({"--handshake-timeout-ms", "600"}, Security::kTls);
  ASSERT_TRUE(server.Start().ok());
  const std::string sess = server.root() + "/s_client.sess";
  auto run = [&](const std::string& extra) {
    // -ign_eof: stay until ternd closes the idle connection (its handshake timeout), so the
    // NewSessionTicket sent after the handshake is read and saved.
    std::string cmd = "openssl s_client -connect " + server.address() +
                      " -tls1_3 -alpn tern/1 -ign_eof " + extra + " </dev/null 2>&1";
    return RunProcess({"/bin/sh", "-c", cmd}, 15000);
  };
  ProcessResult first = run("-sess_out " + sess);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("Protocol  : TLSv1.3"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("ALPN protocol: tern/1"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("CN = ternd"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("New, TLSv1.3"), std::string::npos) << first.out;
  ProcessResult second = run("-sess_in " + sess);
  ASSERT_EQ(second.exit_code, 0) << second.out;
  EXPECT_NE(second.out.find("Reused, TLSv1.3"), std::string::npos) << second.out;

  ProcessResult wrong_alpn = run("-alpn h2");
  EXPECT_NE(wrong_alpn.out.find("no application protocol"), std::string::npos) << wrong_alpn.out;
}

}  // namespace
}  // namespace tern::testing
