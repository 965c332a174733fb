#include "server/asset_refs.h"

#include "store/codec.h"

namespace tern::server {
namespace {
constexpr uint8_t kVersion = 1;
}  // namespace

std::string EncodeAssetRefs(const std::vector<wire::AssetRef>& refs) {
  if (refs.empty()) return {};
  store::codec::RecordWriter w(kVersion);
  w.U64(refs.size());
  for (const auto& a : refs)
    w.U64(a.asset_id).U64(a.size).Str(a.mime).Str(a.sha256).U64(a.width).U64(a.height).U64(a.duration_ms)
        .Str(a.thumbnail).Str(a.name);
  return w.Finish();
}

Result<std::vector<wire::AssetRef>> DecodeAssetRefs(std::string_view bytes) {
  std::vector<wire::AssetRef> out;
  if (bytes.empty()) return out;
  store::codec::RecordReader r(bytes, "asset refs");
  r.Version(kVersion);
  const uint64_t n = r.U64();
  if (n > wire::kMaxAssetsPerMessage) return Status(Code::kCorrupt, "asset refs: count");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    wire::AssetRef a;
    a.asset_id = r.U64();
    a.size = r.U64();
    a.mime = r.Str();
    a.sha256 = r.Str();
    a.width = r.U32();
    a.height = r.U32();
    a.duration_ms = r.U32();
    a.thumbnail = r.Str();
    a.name = r.Str();
    out.push_back(std::move(a));
  }
  TERN_RETURN_IF_ERROR(r.Finish());
  return out;
}

}  // namespace tern::server
