// DevCodeSink: the development one-time-code sink. Each code is logged to stderr and appended
// as a line "<phone> <code>" to a file (ternd uses <data>/otp.log), so a developer or a test
// can read it. Production deployments plug a command or webhook sink in its place (later).
//
// Thread safety: loop thread only.
#pragma once

#include <string>

#include "server/core.h"

namespace tern::server {

class DevCodeSink : public CodeSink {
 public:
  explicit DevCodeSink(std::string path) : path_(std::move(path)) {}
  void Deliver(const std::string& phone, const std::string& code) override;

 private:
  std::string path_;
};

}  // namespace tern::server
