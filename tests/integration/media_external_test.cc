// The asset service pointed at an external S3-compatible store (s3_endpoint & co.) instead of
// the built-in one. The "external" store here is another ternd's built-in blob store — a real
// S3-dialect endpoint on its own port with its own credentials — so the test needs no network.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/integration/blob_util.h"
#include "tests/integration/client_util.h"
#include "tools/client/blob_client.h"

namespace tern::testing {
namespace {

TEST(MediaExternalStore, TicketsPointAtTheConfiguredS3EndpointAndTheBuiltInStoreIsOff) {
  TestServer store;  // plays the external S3 (plain HTTP)
  ASSERT_TRUE(store.Start().ok());
  auto creds = BlobCredentials(store);
  ASSERT_TRUE(creds.ok());
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(store.blob_port());
  TestServer server({"--s3-endpoint", endpoint, "--s3-bucket", "tern", "--s3-region", "us-east-1",
                     "--s3-access-key", creds->access_key_id, "--s3-secret-key", creds->secret_access_key});
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.blob_port(), 0);  // no built-in store
  EXPECT_FALSE(std::ifstream(server.blob_credentials_path()).good());

  auto alice = std::move(RegisterUser(server, "+15550710001")).value();
  auto bob = std::move(RegisterUser(server, "+15550710002")).value();
  const std::string src = server.root() + "/clip.mp4";
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::ofstream(src, std::ios::binary) << data;
  auto sha = tools::Sha256File(src);
  ASSERT_TRUE(sha.ok());
  auto ticket = alice->GetUploadTicket(data.size(), "video/mp4", *sha);
  ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
  EXPECT_EQ(ticket->url.rfind(endpoint + "/tern/a/", 0), 0u) << ticket->url;
  tools::BlobHeaders headers;
  for (const auto& h : ticket->headers) headers.emplace_back(h.name, h.value);
  tools::BlobOptions o;
  ASSERT_TRUE(tools::UploadFile(ticket->url, headers, src, data.size(), o).ok());

  wire::AssetRef ref{ticket->asset_id, data.size(), "video/mp4", *sha, 320, 240, 4000, "", "clip.mp4"};
  auto seq = alice->SendMedia(bob->state().user_id, 0, {ref}, "");
  ASSERT_TRUE(seq.ok());
  auto ack = alice->WaitForAck(*seq, kWaitMs);
  ASSERT_TRUE(ack.ok() && ack->status == Code::kOk);
  auto get = bob->GetDownloadTicket(ref.asset_id);
  ASSERT_TRUE(get.ok());
  const std::string dest = server.root() + "/bob.mp4";
  ASSERT_TRUE(tools::DownloadFile(get->url, dest, get->size, get->sha256, o).ok());
  std::ifstream in(dest, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), data);
}

}  // namespace
}  // namespace tern::testing
