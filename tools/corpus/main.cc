// tern-corpus: deterministic chat traffic (tools/corpus/chat_corpus.h), and the dictionary
// trainer for wire/dict/ (see wire/PROTOCOL.md §2.3 "Training and rolling out a dictionary").
//
//   tern-corpus texts   [--seed N] [--count N]            one text per line on stdout
//   tern-corpus samples [--seed N] [--count N] --out DIR  one frame body per file
//   tern-corpus train   [--seed N] [--count N] --dict-id ID [--size BYTES] --out FILE.zdict
//   tern-corpus eval    [--seed N] [--count N] --dict FILE.zdict
//                       average body bytes: plain, zstd, zstd + the dictionary; and per
//                       message type (by_type: count, plain, dict), to see where a new
//                       dictionary wins or loses
#define ZDICT_STATIC_LINKING_ONLY  // ZDICT_trainFromBuffer_fastCover
#define ZSTD_STATIC_LINKING_ONLY
#include <zdict.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "tools/corpus/chat_corpus.h"
#include "wire/messages.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: tern-corpus texts|samples|train|eval [--seed N] [--count N] [--out PATH]\n"
               "                   [--dict-id ID] [--size BYTES] [--dict FILE]\n");
  return 2;
}

size_t Magicless(ZSTD_CCtx* c, const std::string& body, const ZSTD_CDict* dict) {
  ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(c, ZSTD_c_format, ZSTD_f_zstd1_magicless);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
  ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0);
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19);
  if (dict != nullptr) ZSTD_CCtx_refCDict(c, dict);
  std::string out(ZSTD_compressBound(body.size()), '\0');
  size_t n = ZSTD_compress2(c, out.data(), out.size(), body.data(), body.size());
  return ZSTD_isError(n) ? body.size() : std::min(n, body.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  const std::string cmd = argv[1];
  uint64_t seed = 1;
  size_t count = 0;
  uint32_t dict_id = 0;
  size_t dict_size = 32 * 1024;
  std::string out, dict_path;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) std::exit(Usage());
      return argv[++i];
    };
    if (a == "--seed") seed = std::strtoull(val().c_str(), nullptr, 0);
    else if (a == "--count") count = std::strtoull(val().c_str(), nullptr, 0);
    else if (a == "--out") out = val();
    else if (a == "--dict-id") dict_id = static_cast<uint32_t>(std::strtoul(val().c_str(), nullptr, 0));
    else if (a == "--size") dict_size = std::strtoull(val().c_str(), nullptr, 0);
    else if (a == "--dict") dict_path = val();
    else return Usage();
  }
  tern::tools::ChatCorpus corpus(seed);
  if (cmd == "texts") {
    for (size_t i = 0; i < (count ? count : 1000); ++i) std::printf("%s\n", corpus.Text().c_str());
    return 0;
  }
  if (cmd == "samples") {
    if (out.empty()) return Usage();
    std::filesystem::create_directories(out);
    auto bodies = corpus.SampleBodies(count ? count : 20000);
    for (size_t i = 0; i < bodies.size(); ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "/%06zu", i);
      std::ofstream(out + name, std::ios::binary) << bodies[i];
    }
    return 0;
  }
  if (cmd == "train") {
    if (out.empty() || dict_id <= 1) {
      std::fprintf(stderr, "train needs --out and --dict-id (> 1; Tern uses 1000 + version)\n");
      return 2;
    }
    auto bodies = corpus.SampleBodies(count ? count : 40000);
    std::string all;
    std::vector<size_t> sizes;
    for (const auto& b : bodies) {
      all += b;
      sizes.push_back(b.size());
    }
    std::string dict(dict_size, '\0');
    ZDICT_fastCover_params_t p{};
    p.k = 200;  // fixed parameters: the optimizer takes minutes and wins little here
    p.d = 8;
    p.f = 20;
    p.accel = 1;
    p.nbThreads = 2;
    p.zParams.compressionLevel = 19;
    p.zParams.dictID = dict_id;
    p.zParams.notificationLevel = 1;
    size_t n = ZDICT_trainFromBuffer_fastCover(dict.data(), dict.size(), all.data(),
                                                       sizes.data(),
                                                       static_cast<unsigned>(sizes.size()), p);
    if (ZDICT_isError(n)) {
      std::fprintf(stderr, "training failed: %s\n", ZDICT_getErrorName(n));
      return 1;
    }
    dict.resize(n);
    std::ofstream(out, std::ios::binary) << dict;
    std::printf("wrote %s: %zu bytes, dictionary id %u, from %zu samples (%zu bytes)\n",
                out.c_str(), n, ZDICT_getDictID(dict.data(), dict.size()), sizes.size(), all.size());
    return 0;
  }
  if (cmd == "eval") {
    std::ifstream in(dict_path, std::ios::binary);
    std::string dict((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (dict.empty()) return Usage();
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CDict* cd = ZSTD_createCDict(dict.data(), dict.size(), 19);
    auto bodies = corpus.SampleBodies(count ? count : 5000);
    double plain = 0, z = 0, zd = 0;
    struct PerType {
      size_t n = 0;
      double plain = 0, dict = 0;
    };
    std::map<std::string, PerType> by_type;
    for (const auto& b : bodies) {
      const size_t with_dict = Magicless(c, b, cd);
      plain += b.size();
      z += Magicless(c, b, nullptr);
      zd += with_dict;
      auto m = tern::wire::DecodeMessage(
          {reinterpret_cast<const uint8_t*>(b.data()), b.size()});
      PerType& t = by_type[m.ok() ? tern::wire::MessageName(*m) : "undecodable"];
      ++t.n;
      t.plain += b.size();
      t.dict += with_dict;
    }
    const double k = static_cast<double>(bodies.size());
    std::printf("{\"samples\":%zu,\"plain\":%.1f,\"zstd\":%.1f,\"zstd_dict\":%.1f,\"by_type\":{",
                bodies.size(), plain / k, z / k, zd / k);
    const char* sep = "";
    for (const auto& [name, t] : by_type) {
      const double n = static_cast<double>(t.n);
      std::printf("%s\"%s\":{\"n\":%zu,\"plain\":%.1f,\"dict\":%.1f}", sep, name.c_str(), t.n,
                  t.plain / n, t.dict / n);
      sep = ",";
    }
    std::printf("}}\n");
    ZSTD_freeCDict(cd);
    ZSTD_freeCCtx(c);
    return 0;
  }
  return Usage();
}
