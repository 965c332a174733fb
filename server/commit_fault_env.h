// CommitFaultEnv: a KvEnv wrapper for ternd's --test-fail-commits-after flag (integration
// tests): the first N write commits go through, every later one is aborted and fails with
// kUnavailable, as a failing fsync would. Never used unless that hidden flag is set.
//
// Thread safety: as the wrapped env.
#pragma once

#include <memory>

#include "store/kv.h"

namespace tern::server {

std::unique_ptr<store::KvEnv> WrapCommitFault(std::unique_ptr<store::KvEnv> base, uint64_t ok_commits);

}  // namespace tern::server
