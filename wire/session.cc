// Session: the per-connection protocol state machine (wire/session.h, PROTOCOL.md §3).
#include "wire/session.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "wire/compress.h"

namespace tern::wire {
namespace {

// An Error frame must reach a peer that is still under its pre-auth limit (1024 bytes by
// default), so the human-readable part is capped well below it.
constexpr size_t kMaxErrorMessage = 256;

// Handshake messages: allowed only before authentication, and only in one direction. Ping, Pong
// and Error are allowed before authentication too but go both ways at any time.
bool IsHandshake(const Message& m) {
  return AllowedBeforeAuth(m) && DirectionOf(m) != Direction::kBoth;
}

// The status an Error message stands for. An Error carrying kOk is itself malformed.
Status StatusOfError(const Error& e) {
  if (e.code == Code::kOk) return Status(Code::kProtocol, "peer sent Error with code ok");
  return Status(e.code, e.message);
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

const std::vector<uint32_t>* OfferOf(const Message& m) {
  if (const auto* v = std::get_if<Verify>(&m)) return &v->dict_ids;
  if (const auto* l = std::get_if<Link>(&m)) return &l->dict_ids;
  if (const auto* r = std::get_if<Resume>(&m)) return &r->dict_ids;
  return nullptr;
}

}  // namespace

const Session::TrafficByType Session::kNoTraffic{};

const Status Session::kNoFailure{};

Session::Session(Role role, Options options)
    : Session(role, std::make_shared<const Options>(std::move(options))) {}

Session::Session(Role role, std::shared_ptr<const Options> options)
    : options_(std::move(options)), decoder_(options_->max_preauth_frame), role_(role) {
  if (options_->track_traffic) traffic_ = std::make_unique<TrafficBoth>();
}

Status Session::Check(const Message& m) const {
  const Direction inbound =
      role_ == Role::kServer ? Direction::kClientToServer : Direction::kServerToClient;
  const Direction dir = DirectionOf(m);
  if (dir != Direction::kBoth && dir != inbound) {
    return Status(Code::kProtocol, std::string(MessageName(m)) + " sent in the wrong direction");
  }
  if (state_ == State::kHandshake && !AllowedBeforeAuth(m)) {
    return Status(Code::kUnauthenticated,
                  std::string(MessageName(m)) + " before authentication");
  }
  if (state_ == State::kAuthenticated && IsHandshake(m)) {
    return Status(Code::kProtocol, std::string(MessageName(m)) + " after authentication");
  }
  return Status::Ok();
}

Status Session::Feed(std::span<const uint8_t> bytes) {
  if (failed()) return failure();
  bytes_in_ += bytes.size();
  decoder_.Feed(bytes);
  for (;;) {
    auto next = decoder_.Next();
    if (!next.ok()) {
      Fail(next.status());
      return failure();
    }
    if (!next.value().has_value()) return Status::Ok();
    Frame& frame = *next.value();
    ++frames_in_;
    const size_t wire_size = VarintSize(frame.body.size() + 1) + 1 + frame.body.size();
    const bool compressed = (frame.flags & kFlagCompressed) != 0;
    if (compressed) {
      if (dict_id_ == kDictNone) {
        Fail(Status(Code::kProtocol, "compressed frame, but compression was not negotiated"));
        return failure();
      }
      auto plain = DecompressBody(
          std::span(reinterpret_cast<const uint8_t*>(frame.body.data()), frame.body.size()),
          dict_id_, options_->max_frame);
      if (!plain.ok()) {
        Fail(plain.status());
        return failure();
      }
      frame.body = std::move(plain).value();
    }
    auto decoded = DecodeMessage(
        std::span(reinterpret_cast<const uint8_t*>(frame.body.data()), frame.body.size()),
        options_->decode);
    if (!decoded.ok()) {
      Fail(decoded.status());
      return failure();
    }
    Message& m = decoded.value();
    if (Status s = Check(m); !s.ok()) {
      Fail(s);
      return failure();
    }
    if (traffic_) {
      Traffic& t = traffic_->in[m.index()];
      ++t.frames;
      t.wire_bytes += wire_size;
      t.body_bytes += frame.body.size();
      t.compressed += compressed ? 1 : 0;
    }
    if (const Error* e = std::get_if<Error>(&m)) {
      // The peer gave up. Deliver its Error so the caller can log/show it, then fail without
      // answering: an Error frame back would go to a peer that is already closing.
      Status s = StatusOfError(*e);
      events_.push_back(std::move(m));
      failure_ = std::make_unique<Status>(std::move(s));
      state_ = State::kFailed;
      return failure();
    }
    if (const Welcome* w = std::get_if<Welcome>(&m); w != nullptr && role_ == Role::kClient) {
      if (Status s = OnWelcome(*w); !s.ok()) {
        Fail(s);
        return failure();
      }
    }
    events_.push_back(std::move(m));
  }
}

Status Session::OnWelcome(const Welcome& w) {
  if (w.dict_id != kDictNone) {
    if (std::find(offered_.begin(), offered_.end(), w.dict_id) == offered_.end() ||
        FindDict(w.dict_id) == nullptr) {
      return Status(Code::kProtocol, "Welcome chose a dictionary the client did not offer");
    }
  }
  // Frames after the Welcome in this same read are parsed under the post-auth limit and may
  // be compressed.
  state_ = State::kAuthenticated;
  decoder_.set_max_body(options_->max_frame);
  dict_id_ = w.dict_id;
  return Status::Ok();
}

std::optional<Message> Session::NextEvent() {
  if (events_head_ == events_.size()) return std::nullopt;
  Message m = std::move(events_[events_head_++]);
  if (events_head_ == events_.size()) {  // drained: give the memory back
    std::vector<Message>().swap(events_);
    events_head_ = 0;
  }
  return m;
}

void Session::Send(const Message& m) {
  if (failed()) return;
  if (role_ == Role::kClient && state_ == State::kHandshake) {
    if (const std::vector<uint32_t>* offer = OfferOf(m)) offered_ = *offer;
  }
  std::string body = EncodeMessage(m);
  const size_t body_size = body.size();
  uint8_t flags = 0;
  // Errors stay plain: a peer whose decompression is what went wrong can still read them.
  if (dict_id_ != kDictNone && state_ == State::kAuthenticated &&
      !std::holds_alternative<Error>(m)) {
    if (std::optional<std::string> z = CompressBody(body, dict_id_)) {
      body = std::move(*z);
      flags = kFlagCompressed;
    }
  }
  std::string frame = EncodeFrame(flags, body);
  bytes_out_ += frame.size();
  ++frames_out_;
  if (traffic_) {
    Traffic& t = traffic_->out[m.index()];
    ++t.frames;
    t.wire_bytes += frame.size();
    t.body_bytes += body_size;
    t.compressed += flags != 0 ? 1 : 0;
  }
  out_.append(frame);
  if (const Error* e = std::get_if<Error>(&m)) {
    failure_ = std::make_unique<Status>(StatusOfError(*e));
    state_ = State::kFailed;
  } else if (role_ == Role::kServer && state_ == State::kHandshake) {
    if (const Welcome* w = std::get_if<Welcome>(&m)) {
      state_ = State::kAuthenticated;
      decoder_.set_max_body(options_->max_frame);
      // Invariant: the server core only chooses ids from wire::ChooseDict (known ids).
      dict_id_ = FindDict(w->dict_id) != nullptr ? w->dict_id : kDictNone;
    }
  }
}

void Session::Fail(const Status& status) {
  if (failed()) return;  // sticky: the first failure is the one reported
  Status s = status.ok() ? Status(Code::kInternal, "session failed without a reason") : status;
  if (role_ == Role::kServer) {
    Error e{s.code(), s.message().substr(0, kMaxErrorMessage)};
    Send(e);  // also sets state_ and failure_
  }
  failure_ = std::make_unique<Status>(std::move(s));
  state_ = State::kFailed;
}

std::string Session::TakeOutput() {
  std::string out = std::move(out_);
  out_.clear();
  return out;
}

}  // namespace tern::wire
