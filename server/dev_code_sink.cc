#include "server/dev_code_sink.h"
#include "server/log.h"

#include <cstdio>

namespace tern::server {

void DevCodeSink::Deliver(const std::string& phone, const std::string& code) {
  // The code itself only at level debug: it is a credential (README "Logs").
  Log(LogLevel::kDebug, "otp_dev_sink").Kv("phone", phone).Kv("code", code);
  Log(LogLevel::kInfo, "otp_dev_sink").Kv("phone", phone).Kv("file", path_);
  if (std::FILE* f = std::fopen(path_.c_str(), "a")) {
    std::fprintf(f, "%s %s\n", phone.c_str(), code.c_str());
    std::fclose(f);
  } else {
    Log(LogLevel::kError, "otp_dev_sink_failed").Kv("file", path_);
  }
}

}  // namespace tern::server
