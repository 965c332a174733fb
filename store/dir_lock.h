// DirLock: one process at a time owns a data folder for writing. ternd takes it for as long as
// it runs; tern-admin takes it for the commands that write (expire, restore), so they refuse
// while ternd runs and ternd refuses to start meanwhile. Readers (ternd --stats, tern-admin
// inspect/stats/backup) never take it: LMDB lets other processes read concurrently.
//
// The lock is flock(2) on `<dir>/ternd.lock`, which holds the owner's pid for the message a
// refused process prints. The kernel drops it when the owner exits, also on kill -9, so a stale
// file never blocks anyone.
//
// Thread safety: a value owned by one thread; the lock is per open file description.
#pragma once

#include <memory>
#include <string>

#include "wire/status.h"

namespace tern::store {

class DirLock {
 public:
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

  // Takes the lock on `dir` (which must exist) without waiting. Errors: kUnavailable "in use by
  // pid N" when another process holds it, or when the lock file cannot be opened.
  static Result<std::unique_ptr<DirLock>> Acquire(const std::string& dir);

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace tern::store
