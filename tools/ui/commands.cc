#include "tools/ui/commands.h"

#include <cstdlib>

namespace tern::ui {
namespace {

// Splits on spaces; "double quoted" words stay together (without the quotes).
std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    std::string w;
    if (s[i] == '"') {
      size_t end = s.find('"', i + 1);
      if (end == std::string::npos) end = s.size();
      w = s.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      size_t end = s.find(' ', i);
      if (end == std::string::npos) end = s.size();
      w = s.substr(i, end - i);
      i = end;
    }
    out.push_back(w);
  }
  return out;
}

Command Invalid(std::string why) {
  Command c;
  c.kind = Command::Kind::kInvalid;
  c.error = std::move(why);
  return c;
}

Command Of(Command::Kind k, std::string text = "") {
  Command c;
  c.kind = k;
  c.text = std::move(text);
  return c;
}

Command ParseGroup(const std::vector<std::string>& w) {
  if (w.size() < 2) return Invalid("usage: /group new|add|remove|leave|info|rename ...");
  const std::string& sub = w[1];
  if (sub == "new" || sub == "create") {
    if (w.size() < 3) return Invalid("usage: /group new NAME +PHONE ...");
    Command c = Of(Command::Kind::kGroupNew, w[2]);
    c.args.assign(w.begin() + 3, w.end());
    return c;
  }
  if (sub == "add" || sub == "remove") {
    if (w.size() != 3) return Invalid("usage: /group " + sub + " +PHONE");
    return Of(sub == "add" ? Command::Kind::kGroupAdd : Command::Kind::kGroupRemove, w[2]);
  }
  if (sub == "rename") {
    if (w.size() != 3) return Invalid("usage: /group rename NAME");
    return Of(Command::Kind::kGroupRename, w[2]);
  }
  if (sub == "leave") return Of(Command::Kind::kGroupLeave);
  if (sub == "info") return Of(Command::Kind::kGroupInfo);
  return Invalid("unknown /group command: " + sub);
}

}  // namespace

Command ParseCommand(const std::string& line) {
  size_t b = line.find_first_not_of(' ');
  if (b == std::string::npos) return Of(Command::Kind::kNone);
  if (line[0] != '/') return Of(Command::Kind::kText, line);
  if (line.size() > 1 && line[1] == '/') return Of(Command::Kind::kText, line.substr(1));
  const std::vector<std::string> w = Words(line.substr(1));
  if (w.empty()) return Invalid("empty command; /help lists them");
  const std::string& cmd = w[0];
  if (cmd == "chat") {
    if (w.size() != 2) return Invalid("usage: /chat +PHONE");
    return Of(Command::Kind::kChat, w[1]);
  }
  if (cmd == "group") return ParseGroup(w);
  if (cmd == "file") {
    // The path is the rest of the line, spaces included.
    size_t at = line.find("file") + 4;
    size_t start = line.find_first_not_of(' ', at);
    if (start == std::string::npos) return Invalid("usage: /file PATH");
    return Of(Command::Kind::kFile, line.substr(start));
  }
  if (cmd == "open") {
    char* end = nullptr;
    long n = w.size() == 2 ? std::strtol(w[1].c_str(), &end, 10) : 0;
    if (w.size() != 2 || end == w[1].c_str() || *end != '\0' || n <= 0) return Invalid("usage: /open N (a file number)");
    Command c = Of(Command::Kind::kOpen);
    c.number = static_cast<int>(n);
    return c;
  }
  if (cmd == "link") return Of(Command::Kind::kLink);
  if (cmd == "devices") return Of(Command::Kind::kDevices);
  if (cmd == "reconnect") return Of(Command::Kind::kReconnect);
  if (cmd == "help" || cmd == "?") return Of(Command::Kind::kHelp);
  if (cmd == "quit" || cmd == "q" || cmd == "exit") return Of(Command::Kind::kQuit);
  return Invalid("unknown command /" + cmd + "; /help lists them");
}

std::vector<std::string> HelpLines() {
  return {
      "/chat +PHONE            open a 1:1 chat",
      "/group new NAME +P ...  create a group; /group add|remove +P, leave, info, rename NAME",
      "/file PATH              send a file to this chat; /open N shows received file #N",
      "/link                   link a new device (shows the code); /devices lists them",
      "/reconnect              reconnect now; /quit (or Ctrl-C) leaves",
      "Up/Down or Tab: switch chat   PgUp/PgDn: scroll   Esc: close a panel   //text sends /text",
  };
}

}  // namespace tern::ui
