// tern: the command-line Tern client. One subcommand per run; the device state (credentials,
// inbox position, unacknowledged sends) lives in --state, so runs continue where the last one
// stopped. Every network wait is bounded by --io-timeout; errors print one line on stderr and
// exit non-zero.
//
//   tern request-code +15550001            then  tern verify +15550001 123456
//   tern send +15550002 "hello"            ->    sent msg_id=.. chat_seq=..
//   tern listen --count 1 --timeout 10     ->    [chat_seq] <sender user id>: text
//   tern read +15550002 7 / tern receipts +15550002 / tern presence +15550002
//   tern profile set --status "at work" --last-seen contacts / tern contacts +1555... +1555...
//   tern chats / tern history +15550002 --limit 20 / tern search "hello" [--chat group:5]
//   tern backup --passphrase-file F  ->  asset id;  tern restore ASSET --passphrase-file F
//
// Every message received, sent and acknowledged (and every receipt) is kept in the local
// history <state>.history (an LMDB directory; tools/client/history.h), so `listen` and `send`
// fill it as a side effect and chats/history/search work offline.
//
//   tern ui  (or plain `tern` on a terminal)  ->  the full-screen client (tools/ui/, README)
//
// TLS 1.3 by default: --pin FINGERPRINT (or --pin <ternd data>/tls/cert.sha256) or --ca FILE
// says how to trust the server; --plain talks to a ternd started with --plain-tcp.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/client/client.h"
#include "tools/tern_cli.h"
#include "tools/tern_history.h"
#include "tools/tern_media.h"
#include "tools/ui/ui_app.h"

namespace tern::tools {
namespace {

std::string DefaultStatePath() {
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return std::string(home) + "/.tern/state";
  return "./tern-state";
}

int RunSend(Client& c, const std::string& to, const std::string& text, int timeout_ms) {
  if (int rc = Connect(c)) return rc;
  Result<uint64_t> user = Recipient(c, to);
  if (!user.ok()) return Fail("send", user.status());
  Result<uint64_t> seq = c.Send(*user, text);
  if (!seq.ok()) return Fail("send", seq.status());
  Result<wire::SendAck> ack = c.WaitForAck(*seq, timeout_ms);
  if (!ack.ok()) {
    Fail("send", ack.status());
    std::fprintf(stderr, "tern: the message is stored and will be retried on the next run\n");
    return 1;
  }
  if (ack->status != Code::kOk) {
    std::fprintf(stderr, "tern: send refused: %s\n", CodeName(ack->status));
    return 1;
  }
  std::printf("sent msg_id=%llu chat_seq=%llu\n", static_cast<unsigned long long>(ack->msg_id),
              static_cast<unsigned long long>(ack->chat_seq));
  c.Close();
  return 0;
}

int RunListen(Client& c, int count, double timeout_s) {
  int printed = 0;
  c.core().set_item_callback([&](const wire::InboxItem& it) {
    std::printf("%s\n", ItemLine(it).c_str());
    std::fflush(stdout);
    ++printed;
  });
  if (int rc = Connect(c)) return rc;
  const uint64_t start = SteadyNowMs();
  const uint64_t limit = timeout_s > 0 ? static_cast<uint64_t>(timeout_s * 1000) : 0;
  while (count <= 0 || printed < count) {
    uint64_t elapsed = SteadyNowMs() - start;
    if (limit != 0 && elapsed >= limit) {
      c.Close();
      if (count <= 0) return 0;
      std::fprintf(stderr, "tern: listen: timed out after %d of %d messages\n", printed, count);
      return 1;
    }
    int slice = limit == 0 ? 1000 : static_cast<int>(std::min<uint64_t>(limit - elapsed, 1000));
    Status st = c.Poll(slice);
    if (!st.ok()) return Fail("listen", st);
  }
  c.Close();  // flushes the last InboxAck
  return 0;
}

// `tern group ...`: every subcommand resumes, does one request and prints its outcome.
struct GroupArgs {
  std::string name, who, text;
  uint64_t group = 0;
  std::vector<std::string> members;
};

int PrintGroup(const wire::GroupInfo& g) {
  std::printf("group_id=%llu name=%s chat_seq=%llu members=%zu\n",
              static_cast<unsigned long long>(g.group_id), g.name.c_str(),
              static_cast<unsigned long long>(g.chat_seq), g.members.size());
  for (const wire::GroupMember& m : g.members)
    std::printf("%llu%s\n", static_cast<unsigned long long>(m.user_id), m.admin ? "\tadmin" : "");
  return 0;
}

int RunGroup(Client& c, const std::string& sub, const GroupArgs& a, int timeout_ms) {
  if (int rc = Connect(c)) return rc;
  const std::string what = "group " + sub;
  int rc = 0;
  if (sub == "create") {
    std::vector<uint64_t> ids;
    for (const std::string& m : a.members) {
      Result<uint64_t> id = Recipient(c, m);
      if (!id.ok()) return Fail(what, id.status());
      ids.push_back(*id);
    }
    Result<wire::GroupInfo> g = c.CreateGroup(a.name, ids);
    if (!g.ok()) return Fail(what, g.status());
    rc = PrintGroup(*g);
  } else if (sub == "info") {
    Result<wire::GroupInfo> g = c.GetGroup(a.group);
    if (!g.ok()) return Fail(what, g.status());
    rc = PrintGroup(*g);
  } else if (sub == "send") {
    Result<uint64_t> seq = c.SendToGroup(a.group, a.text);
    if (!seq.ok()) return Fail(what, seq.status());
    Result<wire::SendAck> ack = c.WaitForAck(*seq, timeout_ms);
    if (!ack.ok()) return Fail(what, ack.status());
    if (ack->status != Code::kOk) {
      std::fprintf(stderr, "tern: send refused: %s\n", CodeName(ack->status));
      return 1;
    }
    std::printf("sent msg_id=%llu chat_seq=%llu\n", static_cast<unsigned long long>(ack->msg_id),
                static_cast<unsigned long long>(ack->chat_seq));
  } else {
    wire::GroupOp op = sub == "add" ? wire::GroupOp::kAdd
                       : sub == "remove" ? wire::GroupOp::kRemove
                       : sub == "leave" ? wire::GroupOp::kLeave
                       : sub == "rename" ? wire::GroupOp::kRename
                       : sub == "promote" ? wire::GroupOp::kPromote
                                          : wire::GroupOp::kDemote;
    uint64_t user = 0;
    if (!a.who.empty()) {
      Result<uint64_t> id = Recipient(c, a.who);
      if (!id.ok()) return Fail(what, id.status());
      user = *id;
    }
    Result<uint64_t> seq = c.ChangeGroup(a.group, op, user, a.name);
    if (!seq.ok()) return Fail(what, seq.status());
    std::printf("ok chat_seq=%llu\n", static_cast<unsigned long long>(*seq));
  }
  c.Close();
  return rc;
}

int RunDevices(Client& c) {
  if (int rc = Connect(c)) return rc;
  Result<std::vector<wire::DeviceInfo>> list = c.ListDevices();
  if (!list.ok()) return Fail("devices", list.status());
  for (const wire::DeviceInfo& d : *list) {
    std::printf("%u\t%s\t%s%s\n", d.device_id, d.name.c_str(), d.online ? "online" : "offline",
                d.device_id == c.state().device_id ? "\t(this device)" : "");
  }
  c.Close();
  return 0;
}

}  // namespace
}  // namespace tern::tools

int main(int argc, char** argv) {
  using namespace tern;
  using namespace tern::tools;
  CLI::App app{"tern: command-line client for the Tern messaging server"};
  // No subcommand: the interactive client when both ends are a terminal, else usage.
  app.require_subcommand(0, 1);
  std::string server = "127.0.0.1:7011";
  std::string state = DefaultStatePath();
  double io_timeout_s = 10;
  app.add_option("--server", server, "server address HOST:PORT")->capture_default_str();
  app.add_option("--state", state, "device state file")->capture_default_str();
  app.add_option("--io-timeout", io_timeout_s, "seconds to wait for the server")
      ->capture_default_str();
  std::string ca_file, pin;
  bool plain = false;
  app.add_option("--ca", ca_file, "verify the server against this PEM CA file (and its name)");
  app.add_option("--pin", pin,
                 "verify the server by its certificate's SHA-256 fingerprint (hex, colons optional),"
                 " or a file holding it, e.g. <ternd data>/tls/cert.sha256");
  app.add_flag("--plain", plain, "plain TCP, no TLS (only for a ternd started with --plain-tcp)");

  std::string phone, code, device_name = "tern-cli", to, text;
  uint32_t device_id = 0;
  int count = 0;
  double timeout_s = 0;
  auto* request_code = app.add_subcommand("request-code", "send a one-time code to PHONE");
  request_code->add_option("PHONE", phone, "phone number, E.164 (+digits)")->required();
  auto* verify = app.add_subcommand("verify", "register this device as PHONE's primary device");
  verify->add_option("PHONE", phone)->required();
  verify->add_option("CODE", code, "the one-time code")->required();
  verify->add_option("--device-name", device_name)->capture_default_str();
  auto* link = app.add_subcommand("link", "link this device with a code from `tern link-code`");
  link->add_option("CODE", code)->required();
  link->add_option("--device-name", device_name)->capture_default_str();
  auto* link_code = app.add_subcommand("link-code", "print a code that links a new device");
  auto* resolve = app.add_subcommand("resolve", "print the user id of PHONE");
  resolve->add_option("PHONE", phone)->required();
  auto* send = app.add_subcommand("send", "send TEXT to PHONE (or a user id), wait for the ack");
  send->add_option("PHONE", to)->required();
  send->add_option("TEXT", text)->required();
  MediaArgs ma;
  auto* send_file = app.add_subcommand("send-file", "upload FILE and send it to PHONE (or a user id); resumes after drops");
  send_file->add_option("PHONE", to, "recipient (ignored with --group)")->required();
  send_file->add_option("FILE", ma.file)->required();
  send_file->add_option("--caption", ma.caption, "text shown with the file");
  send_file->add_option("--mime", ma.mime, "media type (default: from the extension)");
  send_file->add_option("--group", ma.group, "send to this group instead");
  auto* download = app.add_subcommand("download", "download a received asset to FILE; checks its SHA-256; resumes");
  download->add_option("ASSET_ID", ma.asset_id)->required();
  download->add_option("FILE", ma.file)->required();
  for (auto* sc : {send_file, download}) {
    sc->add_option("--retries", ma.retries, "attempts after a dropped transfer")->capture_default_str();
    sc->add_flag("--progress", ma.progress, "progress bar even when stderr is not a terminal");
    sc->add_option("--test-cut-after", ma.cut_after_bytes, "")->group("");  // testing: drop once
  }
  auto* listen = app.add_subcommand("listen", "print received messages");
  listen->add_option("--count", count, "exit after this many messages (0 = no limit)");
  listen->add_option("--timeout", timeout_s, "exit after this many seconds (0 = never)");
  auto* devices = app.add_subcommand("devices", "list this user's devices");
  auto* unlink = app.add_subcommand("unlink", "unlink device ID (its token stops working)");
  unlink->add_option("ID", device_id)->required();
  auto* whoami = app.add_subcommand("whoami", "print the stored identity (no network)");
  std::string files_dir;
  bool ascii = false;
  auto* ui_cmd = app.add_subcommand("ui", "full-screen interactive client (the default on a terminal)");
  ui_cmd->add_option("--files", files_dir, "where opened files are saved (default: ~/.tern/files)");
  ui_cmd->add_flag("--ascii", ascii, "ASCII ticks and lines even on a UTF-8 terminal");
  uint32_t backoff_max_ms = 10000;
  ui_cmd->add_option("--backoff-max-ms", backoff_max_ms, "longest wait between reconnect attempts")
      ->capture_default_str();
  GroupArgs ga;
  auto* group = app.add_subcommand("group", "group chats: create, info, send, add, remove, ...");
  group->require_subcommand(1);
  auto* g_create = group->add_subcommand("create", "create group NAME with MEMBERS (+PHONE or user id)");
  g_create->add_option("NAME", ga.name)->required();
  g_create->add_option("MEMBERS", ga.members);
  auto* g_info = group->add_subcommand("info", "print GROUP's name and members");
  g_info->add_option("GROUP", ga.group)->required();
  auto* g_send = group->add_subcommand("send", "send TEXT to GROUP, wait for the ack");
  g_send->add_option("GROUP", ga.group)->required();
  g_send->add_option("TEXT", ga.text)->required();
  for (const char* name : {"add", "remove", "promote", "demote"}) {
    auto* sc = group->add_subcommand(name, std::string(name) + " member WHO (+PHONE or user id); admins only");
    sc->add_option("GROUP", ga.group)->required();
    sc->add_option("WHO", ga.who)->required();
  }
  auto* g_rename = group->add_subcommand("rename", "rename GROUP to NAME; admins only");
  g_rename->add_option("GROUP", ga.group)->required();
  g_rename->add_option("NAME", ga.name)->required();
  auto* g_leave = group->add_subcommand("leave", "leave GROUP");
  g_leave->add_option("GROUP", ga.group)->required();
  SocialArgs sa;
  auto* g_read = group->add_subcommand("read", "mark GROUP read up to chat seq SEQ");
  g_read->add_option("GROUP", sa.group)->required();
  g_read->add_option("SEQ", sa.chat_seq)->required();
  auto* g_receipts = group->add_subcommand("receipts", "every member's delivered/read marks in GROUP");
  g_receipts->add_option("GROUP", sa.group)->required();
  auto* read = app.add_subcommand("read", "mark the chat with PEER (+PHONE or user id) read up to SEQ");
  read->add_option("PEER", sa.peer)->required();
  read->add_option("SEQ", sa.chat_seq)->required();
  auto* receipts = app.add_subcommand("receipts", "delivered/read marks in the chat with PEER");
  receipts->add_option("PEER", sa.peer)->required();
  auto* presence = app.add_subcommand("presence", "online / last seen of USERS (+PHONE or user id)");
  presence->add_option("USERS", sa.users)->required();
  presence->add_option("--follow", sa.follow_s, "keep printing changes for this many seconds");
  auto* profile = app.add_subcommand("profile", "your status text, availability, last-seen privacy");
  profile->require_subcommand(1);
  auto* p_set = profile->add_subcommand("set", "change your profile");
  p_set->add_option("--status", sa.status, "short status text")->each([&](const std::string&) { sa.set_status = true; });
  p_set->add_option("--availability", sa.availability, "available, busy or away");
  p_set->add_option("--last-seen", sa.last_seen, "who sees your last seen: everyone, contacts or nobody");
  auto* p_get = profile->add_subcommand("get", "status and availability of USERS");
  p_get->add_option("USERS", sa.users)->required();
  auto* contacts = app.add_subcommand("contacts", "which PHONES are registered (contact discovery)");
  contacts->add_option("PHONES", sa.phones)->required();
  HistoryArgs ha;
  auto* chats = app.add_subcommand("chats", "list the chats in the local history, newest first, with unread counts");
  auto* hist = app.add_subcommand("history", "messages of CHAT from the local history, with ticks");
  hist->add_option("CHAT", ha.chat, "+PHONE, user id or group:ID")->required();
  hist->add_option("--limit", ha.limit, "at most this many (default 50)");
  hist->add_option("--before", ha.before, "older than this chat seq (paging)");
  auto* search = app.add_subcommand("search", "find TEXT in the local history (case-insensitive), newest first");
  search->add_option("TEXT", ha.text)->required();
  search->add_option("--chat", ha.chat, "only in this chat (+PHONE, user id or group:ID)");
  search->add_option("--limit", ha.limit, "at most this many (default 100)");
  auto* backup = app.add_subcommand("backup", "encrypt the local history with a passphrase and upload it; prints the asset id");
  backup->add_option("--kdf", ha.kdf, "Argon2id cost: moderate, interactive, min (tests only)")->capture_default_str();
  auto* restore = app.add_subcommand("restore", "download backup ASSET, decrypt it and merge it into the local history");
  restore->add_option("ASSET", ha.asset_id)->required();
  for (auto* sc : {backup, restore}) {
    sc->add_option("--passphrase-file", ha.passphrase_file, "file whose first line is the passphrase")->required();
    sc->add_flag("--progress", ha.progress, "progress bar even when stderr is not a terminal");
  }
  CLI11_PARSE(app, argc, argv);

  Client::Options options;
  options.state_path = state;
  // TLS unless --plain; the session ticket is kept in <state>.tls for fast reconnects.
  options.tls.enabled = !plain;
  options.tls.ca_file = ca_file;
  options.tls.pin_sha256 = pin;
  if (!pin.empty() && pin.find('/') != std::string::npos) {
    FILE* f = std::fopen(pin.c_str(), "r");
    char line[256] = "";
    if (f == nullptr || std::fgets(line, sizeof line, f) == nullptr) {
      if (f != nullptr) std::fclose(f);
      return Fail("--pin", Status(Code::kInvalidArgument, "cannot read " + pin));
    }
    std::fclose(f);
    options.tls.pin_sha256 = line;
    while (!options.tls.pin_sha256.empty() && std::isspace(static_cast<unsigned char>(options.tls.pin_sha256.back())))
      options.tls.pin_sha256.pop_back();
  }
  options.io_timeout_ms = static_cast<int>(io_timeout_s * 1000);
  if (Status st = ParseHostPort(server, &options.host, &options.port); !st.ok()) {
    return Fail("--server", st);
  }
  if (*ui_cmd || app.get_subcommands().empty()) {
    if (!*ui_cmd && !(::isatty(0) && ::isatty(1))) {
      std::fprintf(stderr, "%s", app.help().c_str());
      return 1;
    }
    tern::ui::UiOptions uo;
    uo.client = options;
    uo.blob.tls = options.tls;
    uo.blob.io_timeout_ms = options.io_timeout_ms;
    const char* home = std::getenv("HOME");
    uo.files_dir = !files_dir.empty() ? files_dir
                   : home != nullptr && *home != '\0' ? std::string(home) + "/.tern/files"
                                                      : "./tern-files";
    uo.upload_state = state + ".upload";
    uo.ascii = ascii;
    uo.backoff_max_ms = backoff_max_ms;
    return tern::ui::RunUi(uo);
  }
  Result<std::unique_ptr<Client>> created = Client::Create(options);
  if (!created.ok()) return Fail("state " + state, created.status());
  Client& c = **created;
  const int wait_ms = options.io_timeout_ms;

  if (*whoami) {
    if (!c.state().registered()) {
      std::fprintf(stderr, "tern: not registered (state %s)\n", state.c_str());
      return 1;
    }
    std::printf("user_id=%llu device_id=%u pending_sends=%zu state=%s\n",
                static_cast<unsigned long long>(c.state().user_id), c.state().device_id,
                c.state().unacked.size(), state.c_str());
    return 0;
  }
  if (*request_code) {
    Result<wire::CodeSent> sent = c.RequestCode(phone);
    if (!sent.ok()) return Fail("request-code", sent.status());
    std::printf("code sent to %s (valid %u s)\n", phone.c_str(), sent->code_ttl_ms / 1000);
    return 0;
  }
  if (*verify || *link) {
    Result<wire::Welcome> w = *verify ? c.Verify(phone, code, device_name)
                                      : c.Link(code, device_name);
    if (!w.ok()) return Fail(*verify ? "verify" : "link", w.status());
    std::printf("%s as user_id=%llu device_id=%u\n", *verify ? "registered" : "linked",
                static_cast<unsigned long long>(w->user_id), w->device_id);
    c.Close();
    return 0;
  }
  if (*send) return RunSend(c, to, text, wait_ms);
  if (*listen) return RunListen(c, count, timeout_s);
  if (*send_file || *download) {
    BlobOptions blob;
    blob.tls = options.tls;
    blob.io_timeout_ms = wait_ms;
    if (int rc = Connect(c)) return rc;
    if (*download) return RunDownload(c, ma, blob);
    ma.upload_state = state + ".upload";
    uint64_t user = 0;
    if (ma.group == 0) {
      Result<uint64_t> r = Recipient(c, to);
      if (!r.ok()) return Fail("send-file", r.status());
      user = *r;
    }
    return RunSendFile(c, user, ma, blob, wait_ms);
  }
  if (*chats) return RunChats(c);
  if (*hist) return RunHistory(c, ha);
  if (*search) return RunSearch(c, ha);
  if (*backup || *restore) {
    BlobOptions blob;
    blob.tls = options.tls;
    blob.io_timeout_ms = wait_ms;
    const std::string work = state + (*backup ? ".backup-upload" : ".backup-download");
    return *backup ? RunBackup(c, ha, blob, work) : RunRestore(c, ha, blob, work);
  }
  if (*devices) return RunDevices(c);
  if (*g_read) return RunRead(c, sa);
  if (*g_receipts) return RunReceipts(c, sa);
  if (*group) return RunGroup(c, group->get_subcommands().front()->get_name(), ga, wait_ms);
  if (*read) return RunRead(c, sa);
  if (*receipts) return RunReceipts(c, sa);
  if (*presence) return RunPresence(c, sa);
  if (*p_set) return RunProfileSet(c, sa);
  if (*p_get) return RunProfileGet(c, sa);
  if (*contacts) return RunContacts(c, sa);

  if (int rc = Connect(c)) return rc;
  if (*link_code) {
    Result<wire::LinkCode> lc = c.CreateLinkCode();
    if (!lc.ok()) return Fail("link-code", lc.status());
    std::printf("%s\n", lc->code.c_str());
  } else if (*resolve) {
    Result<uint64_t> id = c.ResolvePhone(phone);
    if (!id.ok()) return Fail("resolve", id.status());
    if (*id == 0) {
      std::fprintf(stderr, "tern: %s is not registered\n", phone.c_str());
      return 1;
    }
    std::printf("%llu\n", static_cast<unsigned long long>(*id));
  } else if (*unlink) {
    Status st = c.UnlinkDevice(device_id);
    if (!st.ok()) return Fail("unlink", st);
    std::printf("unlinked device %u\n", device_id);
  }
  c.Close();
  return 0;
}
