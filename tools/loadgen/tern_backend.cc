#include "tools/loadgen/tern_backend.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <fstream>
#include <sstream>
#include <utility>

#include "tools/client/client.h"
#include "tools/client/tcp_transport.h"

namespace tern::loadgen {
namespace {

constexpr int kStartTimeoutMs = 20000;
constexpr int kStopTimeoutMs = 20000;
// Members named in one CreateGroup: the most any decoder accepts in one vector.
constexpr size_t kMembersPerCreate = wire::DecodeLimits{}.max_items;

class TernEndpoint final : public Endpoint {
 public:
  TernEndpoint(TernBackend* backend, std::unique_ptr<tools::Client> client, DeliverFn on_deliver)
      : backend_(backend), client_(std::move(client)) {
    client_->core().set_item_callback(
        [this, fn = std::move(on_deliver)](const wire::InboxItem& item) {
          if (item.kind == wire::ItemKind::kMessage && fn) fn(item.text);
          if (item.kind == wire::ItemKind::kGroupEvent && !in_group(item.group_id)) {
            groups_.push_back(item.group_id);
          }
        });
  }

  Status Connect() override {
    client_->set_server(backend_->host(), backend_->port());
    Result<wire::Welcome> w = client_->Resume();
    Collect();
    return w.status();
  }
  void Close() override {
    if (client_->connected()) client_->Close();
  }
  Status Send(uint32_t to, std::string text) override {
    const uint64_t uid = backend_->user_id(to);
    if (uid == 0) return Status(Code::kInvalidArgument, "user " + std::to_string(to) + " unknown");
    return Track(client_->Send(uid, std::move(text)));
  }
  Status SendToGroup(uint32_t group, std::string text) override {
    const uint64_t gid = backend_->group_id(group);
    if (gid == 0) return Status(Code::kInvalidArgument, "group " + std::to_string(group) + " unknown");
    return Track(client_->SendToGroup(gid, std::move(text)));
  }
  Status Poll(int timeout_ms) override {
    Status st = client_->Poll(timeout_ms);
    Collect();
    return st;
  }
  bool connected() const override { return client_->authenticated(); }
  uint64_t sent() const override { return sent_; }
  uint64_t acked() const override { return acked_; }
  uint64_t refused() const override { return refused_; }

  tools::Client& client() { return *client_; }
  // Whether a membership event of group `gid` arrived (this device receives its messages).
  bool in_group(uint64_t gid) const { return std::find(groups_.begin(), groups_.end(), gid) != groups_.end(); }

 private:
  Status Track(const Result<uint64_t>& seq) {
    if (!seq.ok()) return seq.status();
    outstanding_.push_back(seq.value());
    ++sent_;
    return client_->connected() ? Status::Ok() : client_->last_error();
  }
  // SendAcks arrive in send order on one connection: count them off the front.
  void Collect() {
    while (!outstanding_.empty()) {
      const wire::SendAck* a = client_->core().ack_for(outstanding_.front());
      if (a == nullptr) break;
      if (a->status == Code::kOk) {
        ++acked_;
      } else {
        ++refused_;
      }
      outstanding_.pop_front();
    }
  }

  TernBackend* backend_;
  std::unique_ptr<tools::Client> client_;
  std::deque<uint64_t> outstanding_;
  uint64_t sent_ = 0, acked_ = 0, refused_ = 0;
  std::vector<uint64_t> groups_;  // groups whose membership events arrived (a few)
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The flags `ternd --help` lists (to stay compatible with ternd versions with and without TLS
// and per-address limits).
std::string HelpText(const std::string& ternd) {
  std::string out;
  FILE* p = ::popen(("'" + ternd + "' --help 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

}  // namespace

TernBackend::TernBackend(Options options) : options_(std::move(options)) {
  run_id_ = static_cast<unsigned>((::getpid() ^ NowNs()) % 900 + 100);
}

TernBackend::~TernBackend() {
  if (child_.running()) child_.Signal(SIGKILL, kStopTimeoutMs).status().IgnoreError();
  RemoveTree(scratch_);
}

std::string TernBackend::Describe() const {
  if (options_.spawn_path.empty()) return "ternd at " + options_.server + " (attached)";
  return "ternd " + options_.spawn_path + " (spawned; " +
         (plain_flag_ ? std::string("--plain-tcp") : std::string("plain TCP")) +
         "; durable: every message fsync'd before its sent ack)";
}

pid_t TernBackend::server_pid() const {
  return options_.spawn_path.empty() ? options_.server_pid : child_.pid();
}

uint64_t TernBackend::user_id(uint32_t user) const {
  std::lock_guard<std::mutex> lock(mu_);
  return user < user_ids_.size() ? user_ids_[user] : 0;
}

uint64_t TernBackend::group_id(uint32_t group) const {
  std::lock_guard<std::mutex> lock(mu_);
  return group < group_ids_.size() ? group_ids_[group] : 0;
}

Status TernBackend::Start() {
  if (options_.spawn_path.empty()) {
    if (options_.server.empty()) return Status(Code::kInvalidArgument, "--server or --spawn");
    TERN_RETURN_IF_ERROR(tools::ParseHostPort(options_.server, &host_, &port_));
    if (options_.otp_file.empty()) return Status(Code::kInvalidArgument, "--otp-file needed");
    return Status::Ok();
  }
  if (options_.data_dir.empty()) {
    Result<std::string> dir = MakeTempDir("tern-loadgen");
    if (!dir.ok()) return dir.status();
    scratch_ = *dir;
    data_dir_ = scratch_ + "/data";
  } else {
    data_dir_ = options_.data_dir;
  }
  options_.otp_file = data_dir_ + "/otp.log";
  const std::string help = HelpText(options_.spawn_path);
  argv_ = {options_.spawn_path, "--data", data_dir_, "--listen", "127.0.0.1:0", "--max-connections", "200000"};
  if (help.find("--blob-listen") != std::string::npos) {  // a ternd with the built-in blob store
    argv_.push_back("--blob-listen");
    argv_.push_back("127.0.0.1:0");
  }
  if (help.find("--plain-tcp") != std::string::npos) {
    plain_flag_ = true;
    argv_.push_back("--plain-tcp");
  }
  // Every loadgen connection comes from 127.0.0.1: per-address limits would cap the idle
  // and churn workloads, not measure them.
  if (help.find("--max-connections-per-ip") != std::string::npos) {
    argv_.insert(argv_.end(), {"--max-connections-per-ip", "200000"});
  }
  if (help.find("--accept-rate") != std::string::npos) {
    argv_.insert(argv_.end(), {"--accept-rate", "1000000"});
  }
  // The admin port (metrics) on a free port, so a spawned ternd never collides with another.
  if (help.find("--admin-listen") != std::string::npos) {
    argv_.insert(argv_.end(), {"--admin-listen", "127.0.0.1:0"});
  }
  argv_.insert(argv_.end(), options_.extra_args.begin(), options_.extra_args.end());
  return SpawnServer();
}

Status TernBackend::SpawnServer() {
  const std::string log = (scratch_.empty() ? data_dir_ : scratch_) + "/ternd.log";
  TERN_RETURN_IF_ERROR(child_.Spawn(argv_, log));
  Result<std::string> rest = child_.WaitForLine("ternd listening on 127.0.0.1:", kStartTimeoutMs);
  if (!rest.ok()) {
    return Status(rest.status().code(),
                  rest.status().message() + "\n" + FileTail(log, 2000));
  }
  port_ = static_cast<uint16_t>(std::stoi(*rest));
  return Status::Ok();
}

Status TernBackend::Stop() {
  if (!child_.running()) return Status::Ok();
  Result<int> rc = child_.Signal(SIGTERM, kStopTimeoutMs);
  RemoveTree(scratch_);
  scratch_.clear();
  if (!rc.ok()) return rc.status();
  if (*rc != 0) return Status(Code::kInternal, "ternd exited with " + std::to_string(*rc));
  return Status::Ok();
}

Status TernBackend::CrashAndRestart() {
  if (!can_crash()) return Status(Code::kInvalidArgument, "attached: cannot kill -9 the server");
  child_.Signal(SIGKILL, kStopTimeoutMs).status().IgnoreError();  // exits 137 by design
  return SpawnServer();
}

Result<std::string> TernBackend::CodeFor(const std::string& phone) const {
  const std::string text = ReadAll(options_.otp_file);
  std::string code;
  size_t pos = 0, nl;
  while ((nl = text.find('\n', pos)) != std::string::npos) {  // complete lines only
    std::string_view line(text.data() + pos, nl - pos);
    if (line.size() > phone.size() && line.substr(0, phone.size()) == phone &&
        line[phone.size()] == ' ') {
      code = std::string(line.substr(phone.size() + 1));
    }
    pos = nl + 1;
  }
  if (code.empty()) return Status(Code::kNotFound, "no code for " + phone + " in " + options_.otp_file);
  return code;
}

Result<std::unique_ptr<Endpoint>> TernBackend::Register(uint32_t user, uint32_t device,
                                                        Endpoint* primary, DeliverFn on_deliver) {
  tools::Client::Options o;
  o.host = host_;
  o.port = port_;
  o.io_timeout_ms = options_.io_timeout_ms;
  Result<std::unique_ptr<tools::Client>> c = tools::Client::Create(o);
  if (!c.ok()) return c.status();
  std::unique_ptr<tools::Client> client = std::move(c).value();
  const std::string name = "lg" + std::to_string(device);
  if (device == 0) {
    char phone[32];
    std::snprintf(phone, sizeof phone, "+1%03u%08u", run_id_, user);
    Result<wire::CodeSent> sent = client->RequestCode(phone);
    if (!sent.ok()) return Status(sent.status().code(), "RequestCode: " + sent.status().message());
    // The server appends the code before it answers CodeSent, so it is in the file now.
    Result<std::string> code = CodeFor(phone);
    if (!code.ok()) return code.status();
    Result<wire::Welcome> w = client->Verify(phone, *code, name);
    if (!w.ok()) return Status(w.status().code(), "Verify: " + w.status().message());
    std::lock_guard<std::mutex> lock(mu_);
    if (user_ids_.size() <= user) user_ids_.resize(user + 1, 0);
    user_ids_[user] = w->user_id;
  } else {
    auto* p = static_cast<TernEndpoint*>(primary);  // this backend makes only TernEndpoints
    if (p == nullptr) return Status(Code::kInvalidArgument, "linking needs device 0's endpoint");
    Result<wire::LinkCode> lc = p->client().CreateLinkCode();
    if (!lc.ok()) return Status(lc.status().code(), "CreateLinkCode: " + lc.status().message());
    Result<wire::Welcome> w = client->Link(lc->code, name);
    if (!w.ok()) return Status(w.status().code(), "Link: " + w.status().message());
  }
  return std::unique_ptr<Endpoint>(new TernEndpoint(this, std::move(client), std::move(on_deliver)));
}

Status TernBackend::CreateGroup(uint32_t group, const std::vector<uint32_t>& members,
                                Endpoint& creator, const std::vector<Endpoint*>& devices) {
  if (members.empty()) return Status(Code::kInvalidArgument, "a group needs its creator");
  std::vector<uint64_t> others;
  for (size_t k = 1; k < members.size(); ++k) {
    const uint64_t uid = user_id(members[k]);
    if (uid == 0) return Status(Code::kInvalidArgument, "user " + std::to_string(members[k]) + " unknown");
    others.push_back(uid);
  }
  const std::string limit = " (ternd allows max_group_members per group, creator included, default "
                            "1024: --ternd-arg --max-group-members=N)";
  tools::Client& c = static_cast<TernEndpoint&>(creator).client();
  const auto first = static_cast<std::ptrdiff_t>(std::min(others.size(), kMembersPerCreate));
  Result<wire::GroupInfo> info =
      c.CreateGroup("lg" + std::to_string(group), std::vector<uint64_t>(others.begin(), others.begin() + first));
  if (!info.ok()) {
    return Status(info.status().code(), "CreateGroup of " + std::to_string(members.size()) +
                                            " members: " + info.status().message() + limit);
  }
  const uint64_t gid = info->group_id;
  for (auto it = others.begin() + first; it != others.end(); ++it) {
    Result<uint64_t> added = c.ChangeGroup(gid, wire::GroupOp::kAdd, *it);
    if (!added.ok()) {
      return Status(added.status().code(), "GroupChange{Add}: " + added.status().message() + limit);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (group_ids_.size() <= group) group_ids_.resize(group + 1, 0);
    group_ids_[group] = gid;
  }
  // Every device but the creator's gets the group's creation (or its own Add) event: waiting
  // for it keeps that setup traffic out of the workload's measured phase.
  const int64_t deadline = NowNs() + int64_t{options_.io_timeout_ms} * 1'000'000;
  for (Endpoint* d : devices) {
    auto* t = static_cast<TernEndpoint*>(d);
    if (d == &creator) continue;
    while (!t->in_group(gid)) {
      if (NowNs() > deadline) return Status(Code::kTimeout, "a device got no event of its new group");
      TERN_RETURN_IF_ERROR(t->Poll(50));
    }
  }
  return Status::Ok();
}

}  // namespace tern::loadgen
