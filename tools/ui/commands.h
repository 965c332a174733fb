// Commands typed in the interactive client's input line (`tern ui`), parsed with no IO.
//
// A line that does not start with '/' is a message to the open chat ("//x" sends "/x").
//   /chat +PHONE|USER_ID            open (or start) the 1:1 chat
//   /group new NAME +P1 +P2 ...     create a group (NAME is one word, or "quoted words")
//   /group add|remove +PHONE        change the open group's members (admins)
//   /group leave | /group info      leave the open group | list its members
//   /group rename NAME              rename the open group (admins)
//   /file PATH                      send a file to the open chat (progress bar)
//   /open N                         download file #N of the open chat and show it
//   /link                           show a code that links a new device
//   /devices                        list this user's devices
//   /reconnect                      reconnect now (skip the backoff)
//   /help, /quit
//
// Thread safety: plain functions.
#pragma once

#include <string>
#include <vector>

namespace tern::ui {

struct Command {
  enum class Kind {
    kNone,  // an empty line
    kText, kChat, kGroupNew, kGroupAdd, kGroupRemove, kGroupLeave, kGroupInfo, kGroupRename,
    kFile, kOpen, kLink, kDevices, kReconnect, kHelp, kQuit,
    kInvalid,  // `error` says why
  };
  Kind kind = Kind::kNone;
  std::string text;               // kText: the message; kChat/kGroupAdd/kGroupRemove: who;
                                  // kGroupNew/kGroupRename: the name; kFile: the path
  std::vector<std::string> args;  // kGroupNew: the members
  int number = 0;                 // kOpen
  std::string error;              // kInvalid
};

Command ParseCommand(const std::string& line);

// The help text, one command per line.
std::vector<std::string> HelpLines();

}  // namespace tern::ui
