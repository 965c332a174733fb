#include "server/dev_code_sink.h"

#include <cstdio>

namespace tern::server {

void DevCodeSink::Deliver(const std::string& phone, const std::string& code) {
  std::fprintf(stderr, "ternd: one-time code for %s: %s (development sink)\n", phone.c_str(), code.c_str());
  if (std::FILE* f = std::fopen(path_.c_str(), "a")) {
    std::fprintf(f, "%s %s\n", phone.c_str(), code.c_str());
    std::fclose(f);
  } else {
    std::fprintf(stderr, "ternd: error: cannot append to %s\n", path_.c_str());
  }
}

}  // namespace tern::server
