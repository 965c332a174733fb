// TlsTransport (server/tls_transport.h) without sockets: an OpenSSL client on memory BIOs talks
// to the transport byte for byte. Covers the handshake, ALPN, plaintext both ways, 0-RTT with
// the early-data gate (Resume passes at once, anything else waits for the client's Finished),
// a replayed first flight, and bytes that are not TLS.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "server/tls_context.h"
#include "server/tls_transport.h"
#include "wire/frame.h"
#include "wire/messages.h"

namespace tern::server {
namespace {

std::string Frame(const wire::Message& m) { return wire::EncodeFrame(0, wire::EncodeMessage(m)); }

class Dir {
 public:
  Dir() {
    char tmpl[] = "/tmp/tern-tls-unit-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~Dir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An OpenSSL client whose bytes go through memory BIOs.
class MemClient {
 public:
  MemClient(SSL_CTX* ctx, SSL_SESSION* session = nullptr) : ssl_(SSL_new(ctx)) {
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
    if (session != nullptr) SSL_set_session(ssl_, session);
  }
  ~MemClient() { SSL_free(ssl_); }
  SSL* ssl() { return ssl_; }
  std::string Take() {
    std::string s;
    char buf[4096];
    int n;
    while ((n = BIO_read(out_, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
    return s;
  }
  void Give(const std::string& s) { BIO_write(in_, s.data(), static_cast<int>(s.size())); }
  std::string ReadAll() {
    std::string s;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
    return s;
  }

 private:
  SSL* ssl_;
  BIO* in_;
  BIO* out_;
};

class ServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TlsServerOptions o;
    o.dir = dir_.path() + "/tls";
    auto ctx = TlsServerContext::Create(o);
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    server_ = std::move(ctx).value();
    client_ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(client_ctx_, TLS1_3_VERSION);
    static const unsigned char alpn[] = {6, 't', 'e', 'r', 'n', '/', '1'};
    SSL_CTX_set_alpn_protos(client_ctx_, alpn, sizeof alpn);
    SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_NONE, nullptr);
  }
  void TearDown() override {
    if (session_ != nullptr) SSL_SESSION_free(session_);
    SSL_CTX_free(client_ctx_);
  }
  // Runs a full handshake and keeps the ticket. Returns the server transport.
  std::unique_ptr<TlsTransport> FullHandshake(MemClient& c, std::string* plain_out) {
    auto t = std::make_unique<TlsTransport>(*server_);
    std::string scratch;
    for (int i = 0; i < 10 && !(t->handshake_done() && SSL_is_init_finished(c.ssl())); ++i) {
      SSL_do_handshake(c.ssl());
      std::string to_client;
      auto plain = t->OnRead(AsSpan(c.Take()), &scratch, &to_client);
      EXPECT_TRUE(plain.ok()) << plain.status().ToString();
      if (plain.ok()) plain_out->append(reinterpret_cast<const char*>(plain->data()), plain->size());
      c.Give(to_client);
    }
    c.ReadAll();  // the NewSessionTicket
    return t;
  }
  static std::span<const uint8_t> AsSpan(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
  }
  void GetTicket() {
    MemClient c(client_ctx_);
    std::string plain;
    auto t = FullHandshake(c, &plain);
    // A copy: freeing a connection without close_notify marks its own session not resumable.
    session_ = SSL_SESSION_dup(SSL_get0_session(c.ssl()));
    ASSERT_TRUE(SSL_SESSION_is_resumable(session_));
    ASSERT_GT(SSL_SESSION_get_max_early_data(session_), 1000u);
  }

  Dir dir_;
  std::unique_ptr<TlsServerContext> server_;
  SSL_CTX* client_ctx_ = nullptr;
  SSL_SESSION* session_ = nullptr;
};

TEST_F(ServerTlsTest, HandshakeNegotiatesTls13AndAlpnAndCarriesPlaintextBothWays) {
  MemClient c(client_ctx_);
  std::string plain;
  auto t = FullHandshake(c, &plain);
  ASSERT_TRUE(t->handshake_done());
  EXPECT_STREQ(SSL_get_version(c.ssl()), "TLSv1.3");
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(c.ssl(), &p, &len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p), len), "tern/1");
  EXPECT_EQ(server_->fingerprint().size(), 95u);

  const std::string ping = Frame(wire::Ping{5});
  SSL_write(c.ssl(), ping.data(), static_cast<int>(ping.size()));
  std::string scratch, to_client;
  auto in = t->OnRead(AsSpan(c.Take()), &scratch, &to_client);
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(in->data()), in->size()), ping);
  ASSERT_TRUE(t->OnWrite(std::string("pong bytes"), &to_client).ok());
  c.Give(to_client);
  EXPECT_EQ(c.ReadAll(), "pong bytes");
}

TEST_F(ServerTlsTest, EarlyResumePassesAtOnceAndOtherEarlyFramesWaitForFinished) {
  GetTicket();
  MemClient c(client_ctx_, session_);
  const std::string resume = Frame(wire::Resume{});
  const std::string request = Frame(wire::RequestCode{1, "+15550000000"});
  std::string early = resume + request;
  size_t written = 0;
  ASSERT_EQ(SSL_write_early_data(c.ssl(), early.data(), early.size(), &written), 1);
  const std::string first_flight = c.Take();

  TlsTransport t(*server_);
  std::string scratch, to_client;
  auto in = t.OnRead(AsSpan(first_flight), &scratch, &to_client);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(in->data()), in->size()), resume);  // only the Resume
  EXPECT_FALSE(t.handshake_done());
  // The Core's answer goes out as 0.5-RTT data in the same flight.
  ASSERT_TRUE(t.OnWrite(std::string("welcome"), &to_client).ok());
  c.Give(to_client);
  ASSERT_EQ(SSL_do_handshake(c.ssl()), 1);
  EXPECT_EQ(SSL_get_early_data_status(c.ssl()), SSL_EARLY_DATA_ACCEPTED);
  EXPECT_EQ(c.ReadAll(), "welcome");
  // The client's Finished releases the held RequestCode, in order.
  std::string to_client2;
  auto rest = t.OnRead(AsSpan(c.Take()), &scratch, &to_client2);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_TRUE(t.handshake_done());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(rest->data()), rest->size()), request);

  // A replay of the same first flight: the Resume acts again (idempotent), the RequestCode never.
  TlsTransport replay(*server_);
  std::string to_attacker;
  auto again = replay.OnRead(AsSpan(first_flight), &scratch, &to_attacker);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(again->data()), again->size()), resume);
  EXPECT_FALSE(replay.handshake_done());
}

TEST_F(ServerTlsTest, BytesThatAreNotTlsAreAnError) {
  TlsTransport t(*server_);
  std::string scratch, to_client;
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  auto in = t.OnRead(AsSpan(http), &scratch, &to_client);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.status().code(), Code::kProtocol);
  EXPECT_FALSE(t.OnWrite(std::string("x"), &to_client).ok());  // sticky
}

TEST_F(ServerTlsTest, ClientOfferingOnlyAnotherProtocolIsRefused) {
  static const unsigned char h2[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(client_ctx_, h2, sizeof h2);
  MemClient c(client_ctx_);
  SSL_do_handshake(c.ssl());
  TlsTransport t(*server_);
  std::string scratch, to_client;
  auto in = t.OnRead(AsSpan(c.Take()), &scratch, &to_client);
  EXPECT_FALSE(in.ok());
  EXPECT_FALSE(to_client.empty());  // the no_application_protocol alert
}

TEST_F(ServerTlsTest, TicketKeysSurviveARestartOfTheContext) {
  GetTicket();
  TlsServerOptions o;
  o.dir = dir_.path() + "/tls";
  auto again = TlsServerContext::Create(o);  // same dir: same cert, same ticket keys
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)->created_certificate());
  EXPECT_EQ((*again)->fingerprint(), server_->fingerprint());
  server_ = std::move(again).value();
  MemClient c(client_ctx_, session_);
  std::string plain;
  auto t = FullHandshake(c, &plain);
  EXPECT_EQ(SSL_session_reused(c.ssl()), 1);
}

}  // namespace
}  // namespace tern::server
