// Asset references as stored with a message body (store::MessageRecord::assets, opaque to the
// store): a count, then per reference asset_id, size, mime, sha256, width, height,
// duration_ms, thumbnail, name (store/codec.h varints and length-prefixed strings, version 1).
//
// Thread safety: plain functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "wire/messages.h"
#include "wire/status.h"

namespace tern::server {

// Empty for an empty list (so plain messages store nothing extra).
std::string EncodeAssetRefs(const std::vector<wire::AssetRef>& refs);
// Errors: kCorrupt.
Result<std::vector<wire::AssetRef>> DecodeAssetRefs(std::string_view bytes);

}  // namespace tern::server
