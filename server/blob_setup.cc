#include "server/blob_setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace tern::server {
namespace {

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  size_t b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

Result<blob::Credentials> LoadOrCreateBlobCredentials(const Config& config, const std::string& path,
                                                      Entropy& entropy) {
  blob::Credentials c;
  c.region = config.blob_region;
  if (!config.blob_access_key.empty()) {
    c.access_key_id = config.blob_access_key;
    c.secret_access_key = config.blob_secret_key;
    return c;
  }
  std::ifstream in(path);
  if (in) {
    std::string line;
    while (std::getline(in, line)) {
      size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string k = Trim(line.substr(0, eq)), v = Trim(line.substr(eq + 1));
      if (k == "aws_access_key_id") c.access_key_id = v;
      if (k == "aws_secret_access_key") c.secret_access_key = v;
    }
    if (c.access_key_id.empty() || c.secret_access_key.empty())
      return Status(Code::kInvalidArgument, path + " is damaged (delete it to make new credentials)");
    return c;
  }
  // 20 upper-case alphanumerics like AWS key ids; a 40-character secret (30 random bytes, hex
  // would be 60: base32-ish from the hex token is plenty).
  const std::string token = entropy.Token();  // 64 hex digits
  c.access_key_id = "TERN";
  for (size_t i = 0; i < 16; ++i) c.access_key_id.push_back(static_cast<char>(std::toupper(token[i])));
  c.secret_access_key = token.substr(16, 40);
  std::ostringstream os;
  os << "[default]\naws_access_key_id = " << c.access_key_id << "\naws_secret_access_key = " << c.secret_access_key
     << "\n";
  const std::string data = os.str();
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kUnavailable, "cannot create " + tmp);
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) return Status(Code::kUnavailable, "cannot write " + path);
  return c;
}

BlobEndpoint ExternalEndpoint(const Config& config) {
  BlobEndpoint e;
  e.base_url = config.s3_endpoint;
  while (!e.base_url.empty() && e.base_url.back() == '/') e.base_url.pop_back();
  e.bucket = config.s3_bucket;
  e.virtual_host = config.s3_virtual_host;
  e.credentials.access_key_id = config.s3_access_key;
  e.credentials.secret_access_key = config.s3_secret_key;
  e.credentials.region = config.s3_region;
  return e;
}

AssetSettings AssetSettingsFrom(const Config& config) {
  AssetSettings s;
  s.max_bytes = config.blob_max_object_bytes;
  s.upload_url_ttl_s = config.asset_upload_url_ttl_s;
  s.download_url_ttl_s = config.asset_download_url_ttl_s;
  s.unreferenced_ttl_ms = config.asset_unreferenced_ttl_ms;
  s.retention_ms = config.asset_retention_ms;
  return s;
}

}  // namespace tern::server
