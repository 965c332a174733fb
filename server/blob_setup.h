// Start-up helpers for media: the built-in blob store's credentials and the asset service's
// view of where objects live (built-in store or an external S3-compatible one).
//
// Thread safety: start-up only (main thread).
#pragma once

#include <memory>
#include <string>

#include "server/asset_service.h"
#include "server/blob/file_store.h"
#include "server/config.h"
#include "server/crypto.h"

namespace tern::server {

// The built-in store's key pair: Config::blob_access_key/secret when set; otherwise read from
// `path`, or created there (random) on first start. The file is in the AWS shared-credentials
// format, so boto3/awscli use it as is (AWS_SHARED_CREDENTIALS_FILE=<path>):
//   [default]
//   aws_access_key_id = TERN...
//   aws_secret_access_key = ...
// Errors: kUnavailable (file IO), kInvalidArgument (a damaged file).
Result<blob::Credentials> LoadOrCreateBlobCredentials(const Config& config, const std::string& path, Entropy& entropy);

// Removes objects of the built-in store (FileStore::Delete).
class FileStoreRemover final : public BlobRemover {
 public:
  explicit FileStoreRemover(blob::FileStore& store) : store_(store) {}
  Status Remove(std::string_view name) override { return store_.Delete(name); }

 private:
  blob::FileStore& store_;
};

// The external store's endpoint from Config::s3_*.
BlobEndpoint ExternalEndpoint(const Config& config);
AssetSettings AssetSettingsFrom(const Config& config);

}  // namespace tern::server
