// ChatCorpus (tools/corpus/chat_corpus.h): word lists per script and the frame renderer.
#include "tools/corpus/chat_corpus.h"

#include <algorithm>

#include "wire/messages.h"

namespace tern::tools {
namespace {

const std::vector<const char*> kEnglish = {
    "hi", "hey", "ok", "yes", "no", "thanks", "see", "you", "tomorrow", "tonight", "I'm", "on",
    "my", "way", "where", "are", "what", "time", "the", "bus", "is", "late", "again", "call",
    "me", "when", "can", "we", "meet", "at", "home", "work", "lunch", "dinner", "love", "miss",
    "good", "morning", "night", "sorry", "just", "saw", "your", "message", "please", "send",
    "photo", "did", "get", "it", "let", "know", "how", "about", "coffee", "later", "sure",
    "great", "haha", "lol", "wait", "minutes", "running", "bit", "battery", "low", "signal",
    "bad", "here", "mom", "says", "hello", "buy", "some", "bread", "milk", "pick", "up", "kids",
    "school", "doctor", "appointment", "Friday", "weekend", "plans", "birthday", "party", "and",
    "to", "a", "for", "not", "do", "have", "will", "be", "that", "this", "with", "so", "too"};
const std::vector<const char*> kSpanish = {
    "hola", "qué", "tal", "bien", "gracias", "nos", "vemos", "mañana", "dónde", "estás",
    "llego", "en", "cinco", "minutos", "te", "llamo", "luego", "vale", "sí", "no", "por",
    "favor", "mi", "amor", "buenos", "días", "noches", "cuándo", "comemos", "la", "casa",
    "trabajo", "el", "autobús", "tarde", "feliz", "cumpleaños", "jajaja", "claro", "ya"};
const std::vector<const char*> kPortuguese = {
    "oi", "tudo", "bem", "obrigado", "obrigada", "até", "amanhã", "onde", "você", "está",
    "chego", "em", "dez", "minutos", "te", "ligo", "depois", "beleza", "sim", "não", "por",
    "favor", "bom", "dia", "boa", "noite", "kkkk", "saudades", "vamos", "almoçar", "já"};
const std::vector<const char*> kFrench = {
    "salut", "ça", "va", "merci", "à", "demain", "tu", "es", "où", "j'arrive", "dans", "cinq",
    "minutes", "je", "t'appelle", "plus", "tard", "oui", "non", "s'il", "te", "plaît",
    "bonjour", "bonne", "nuit", "on", "mange", "ensemble", "d'accord", "bisous", "mdr"};
const std::vector<const char*> kGerman = {
    "hallo", "wie", "geht's", "danke", "bis", "morgen", "wo", "bist", "du", "ich", "komme",
    "in", "fünf", "Minuten", "ruf", "mich", "später", "an", "ja", "nein", "bitte", "guten",
    "Morgen", "gute", "Nacht", "Treffen", "wir", "uns", "heute", "Abend", "alles", "klar"};
const std::vector<const char*> kIndonesian = {
    "halo", "apa", "kabar", "baik", "terima", "kasih", "sampai", "besok", "di", "mana",
    "aku", "otw", "lima", "menit", "lagi", "nanti", "telepon", "ya", "tidak", "tolong",
    "selamat", "pagi", "malam", "makan", "siang", "bareng", "wkwk", "oke", "sudah"};
const std::vector<const char*> kRussian = {
    "привет", "как", "дела", "хорошо", "спасибо", "до", "завтра", "где", "ты", "я", "буду",
    "через", "пять", "минут", "позвони", "мне", "потом", "да", "нет", "пожалуйста", "доброе",
    "утро", "спокойной", "ночи", "встретимся", "в", "кафе", "на", "работе", "дома", "уже",
    "скоро", "люблю", "тебя", "купи", "хлеб", "молоко", "автобус", "опаздывает", "ок"};
const std::vector<const char*> kUkrainian = {
    "привіт", "як", "справи", "дякую", "до", "завтра", "де", "ти", "я", "буду", "за",
    "хвилин", "подзвони", "мені", "так", "ні", "будь", "ласка", "добраніч", "зараз"};
const std::vector<const char*> kChinese = {
    "你好", "在吗", "我", "你", "他", "今天", "明天", "晚上", "吃饭", "了吗", "好的", "谢谢",
    "没问题", "等", "一下", "马上", "到", "路上", "堵车", "回家", "上班", "开会", "哈哈",
    "什么", "时候", "见面", "电话", "打给", "照片", "发给", "我们", "一起", "周末", "去",
    "看电影", "生日", "快乐", "辛苦", "了", "早上好", "晚安", "的", "是", "不", "在"};
const std::vector<const char*> kJapanese = {
    "こんにちは", "おはよう", "ありがとう", "今日", "明日", "今夜", "どこ", "いる", "の",
    "今", "向かって", "ます", "ちょっと", "遅れる", "ごめん", "ね", "よ", "電話", "して",
    "写真", "送って", "了解", "です", "また", "後で", "会おう", "駅", "で", "待って"};
const std::vector<const char*> kArabic = {
    "مرحبا", "كيف", "حالك", "بخير", "شكرا", "إلى", "اللقاء", "غدا", "أين", "أنت", "أنا",
    "في", "الطريق", "خمس", "دقائق", "اتصل", "بي", "لاحقا", "نعم", "لا", "من", "فضلك",
    "صباح", "الخير", "مساء", "تصبح", "على", "خير", "إن", "شاء", "الله", "حبيبي", "يلا",
    "البيت", "العمل", "الغداء", "عيد", "ميلاد", "سعيد"};
const std::vector<const char*> kEmoji = {
    "😂", "❤️", "👍", "🙏", "😊", "😭", "🥰", "😍", "🔥", "🎉", "😅", "🤣", "😘", "👌",
    "🙈", "💪", "😎", "🤔", "😢", "✨", "👋", "🎂", "🌹", "☕", "🚌", "📷", "✅", "🇧🇷",
    "👨‍👩‍👧", "🤦‍♂️", "❤️‍🔥", "🙌🏽"};
const std::vector<const char*> kNames = {
    "Ana", "Bruno", "Chen", "Dmitri", "Emma", "Fatima", "Giulia", "Hiro", "Ivan", "Jamal",
    "Kofi", "Lena", "Maria", "Nadia", "Omar", "Priya", "Rafael", "Sofia", "Tomás", "Yuki"};
const std::vector<const char*> kMimes = {
    "image/jpeg", "image/jpeg", "image/webp", "video/mp4", "audio/ogg; codecs=opus",
    "application/pdf", "image/png"};

}  // namespace

std::string TruncateUtf8(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

uint64_t ChatCorpus::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t ChatCorpus::Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

std::string ChatCorpus::Words(const std::vector<const char*>& words, size_t target,
                              const char* sep) {
  std::string s;
  while (s.size() < target) {
    if (!s.empty()) s += sep;
    s += words[Below(words.size())];
    uint64_t r = Below(100);
    if (r < 6) s += Below(2) ? "?" : "!";
    else if (r < 9) s += ",";
    else if (r < 13) {
      s += " ";
      s += kEmoji[Below(kEmoji.size())];
    }
  }
  return s;
}

std::string ChatCorpus::Media() {
  static const char* kHex = "0123456789abcdef";
  std::string sha, asset;
  for (int i = 0; i < 64; ++i) sha += kHex[Below(16)];
  for (int i = 0; i < 22; ++i) asset += kHex[Below(16)];
  const char* mime = kMimes[Below(kMimes.size())];
  std::string s = "{\"asset\":\"" + asset + "\",\"size\":" + std::to_string(2000 + Below(4000000)) +
                  ",\"mime\":\"" + mime + "\",\"sha256\":\"" + sha + "\"";
  if (Below(2)) s += ",\"caption\":\"" + Words(kEnglish, 5 + Below(40), " ") + "\"";
  return s + "}";
}

std::string ChatCorpus::Event() {
  const char* a = kNames[Below(kNames.size())];
  const char* b = kNames[Below(kNames.size())];
  switch (Below(6)) {
    case 0: return std::string(a) + " added " + b;
    case 1: return std::string(a) + " removed " + b;
    case 2: return std::string(a) + " left";
    case 3: return std::string(a) + " changed the group name to \"" + Words(kEnglish, 8 + Below(20), " ") + "\"";
    case 4: return std::string(a) + " made " + b + " an admin";
    default: return "read up to " + std::to_string(1 + Below(5000));
  }
}

std::string ChatCorpus::Link() {
  static const char* kHosts[] = {"https://maps.app.goo.gl/", "https://youtu.be/",
                                 "https://www.instagram.com/p/", "https://t.me/", "https://x.com/i/status/"};
  static const char* kAlnum = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
  std::string s = kHosts[Below(5)];
  for (int i = 0; i < 11; ++i) s += kAlnum[Below(58)];
  return s;
}

std::string ChatCorpus::Text() {
  // Mostly short, as chat is: 40% up to 20 bytes, 30% up to 60, 20% up to 200, 10% up to 500.
  uint64_t r = Below(100);
  size_t target = r < 40 ? 1 + Below(20) : r < 70 ? 20 + Below(40) : r < 90 ? 60 + Below(140)
                                                                            : 200 + Below(301);
  std::string s;
  uint64_t kind = Below(100);
  if (kind < 30) s = Words(kEnglish, target, " ");
  else if (kind < 36) s = Words(kSpanish, target, " ");
  else if (kind < 41) s = Words(kPortuguese, target, " ");
  else if (kind < 44) s = Words(kFrench, target, " ");
  else if (kind < 47) s = Words(kGerman, target, " ");
  else if (kind < 50) s = Words(kIndonesian, target, " ");
  else if (kind < 60) s = Words(kRussian, target, " ");
  else if (kind < 63) s = Words(kUkrainian, target, " ");
  else if (kind < 70) s = Words(kChinese, target, "");
  else if (kind < 74) s = Words(kJapanese, target, "");
  else if (kind < 82) s = Words(kArabic, target, " ");
  else if (kind < 88) s = Words(kEmoji, std::min<size_t>(target, 24), "");
  else if (kind < 92) s = Media();
  else if (kind < 96) s = Event();
  else s = Words(kEnglish, target / 2, " ") + " " + Link();
  // Word texts are cut to their target; media references, events and links keep their shape.
  s = TruncateUtf8(s, kind < 88 ? target : 500);
  if (s.empty()) s = "👍";
  return s;
}

std::vector<ChatCorpus::Line> ChatCorpus::Conversation(size_t n) {
  std::vector<Line> lines;
  int from = 0;
  while (lines.size() < n) {
    size_t burst = 1 + (Below(100) < 60 ? 0 : Below(4));
    for (size_t i = 0; i < burst && lines.size() < n; ++i) lines.push_back(Line{from, Text()});
    from ^= 1;
  }
  return lines;
}

std::vector<std::string> ChatCorpus::SampleBodies(size_t n) {
  // The shapes of the real server's traffic (server/handle_auth.cc, handle_groups.cc,
  // core.cc, store/mailbox.cc): user ids are random 63-bit, group ids random 64-bit, message
  // ids node << 48 | counter, `to_user` is 0 on items addressed to the receiving user, seqs
  // count up per device and per chat. One "exchange" is everything one message causes on both
  // clients' connections, in the proportions a conversation has (tern-v1 was trained on
  // Send/SendAck/Deliver/InboxAck alone: no receipts, groups, media or to_user = 0).
  std::vector<std::string> out;
  out.reserve(n + 16);
  const uint64_t node = uint64_t{1} << 48;
  uint64_t ts = 1700000000000ull + Below(300000000000ull);
  uint64_t msg_counter = Below(1u << 28);
  struct Peer {
    uint64_t user = 0;
    uint64_t client_seq = 0, inbox_seq = 0;
  };
  Peer p[2];
  uint64_t chat_seq = 0, group_seq = 0, group_id = 0;
  auto reset = [&] {  // a new pair of users (and their group) every few exchanges
    for (Peer& x : p) {
      x.user = Next() & 0x7fffffffffffffffull;
      x.client_seq = Below(Below(2) ? 50 : 20000);
      x.inbox_seq = Below(Below(2) ? 50 : 50000);
    }
    chat_seq = Below(Below(2) ? 30 : 5000);
    group_id = Next() | 1;
    group_seq = Below(10000);
  };
  auto emit = [&](const wire::Message& m) { out.push_back(wire::EncodeMessage(m)); };
  // A message item from `from`, as the other user's device gets it.
  auto message = [&](int from, bool group, std::string text) {
    wire::InboxItem it;
    it.seq = ++p[1 - from].inbox_seq;
    it.msg_id = node | ++msg_counter;
    it.sender_user = p[from].user;
    it.sender_device = 1 + static_cast<uint32_t>(Below(10) == 0 ? Below(4) : 0);
    it.chat_seq = group ? ++group_seq : ++chat_seq;
    it.group_id = group ? group_id : 0;
    it.server_ts_ms = ts;
    it.text = std::move(text);
    return it;
  };
  auto receipt = [&](int reader, bool group, wire::ReceiptType type) {
    wire::InboxItem it;
    it.seq = ++p[1 - reader].inbox_seq;
    it.kind = wire::ItemKind::kReceipt;
    it.sender_user = p[reader].user;
    it.chat_seq = group ? group_seq : chat_seq;
    it.group_id = group ? group_id : 0;
    it.server_ts_ms = ts + Below(5000);
    it.receipt = type;
    return it;
  };
  reset();
  while (out.size() < n) {
    if (Below(20) == 0) reset();
    ts += 1 + Below(Below(3) == 0 ? 3600000 : 20000);
    const uint64_t pick = Below(100);
    const int from = static_cast<int>(Below(2)), to = 1 - from;
    if (pick < 62) {
      // One message, 1:1 (or to a group): Send, sent ack, Deliver, the recipient's ack, the
      // delivered receipt and its ack; sometimes a read receipt; acks sometimes ride in Sends.
      const bool group = Below(4) == 0;
      std::string text = Text();
      wire::Send s;
      s.client_seq = ++p[from].client_seq;
      s.to_user = group ? 0 : p[to].user;
      s.group_id = group ? group_id : 0;
      s.text = text;
      if (Below(3) == 0) s.ack_inbox_seq = p[from].inbox_seq;
      emit(s);
      wire::InboxItem m = message(from, group, std::move(text));
      emit(wire::SendAck{s.client_seq, Code::kOk, m.msg_id, m.chat_seq, ts});
      emit(wire::Deliver{{m}});
      if (Below(3) != 0) emit(wire::InboxAck{p[to].inbox_seq});
      emit(wire::Deliver{{receipt(to, group, wire::ReceiptType::kDelivered)}});
      if (Below(2) != 0) emit(wire::InboxAck{p[from].inbox_seq});
      if (Below(4) == 0) {
        emit(wire::Deliver{{receipt(to, group, wire::ReceiptType::kRead)}});
        emit(wire::InboxAck{p[from].inbox_seq});
      }
    } else if (pick < 72) {
      // An offline batch: what a reconnecting device drains, mostly messages.
      wire::Deliver d;
      const size_t k = 2 + Below(Below(3) == 0 ? 200 : 16);
      for (size_t i = 0; i < k; ++i) {
        const uint64_t r = Below(10);
        const bool group = Below(4) == 0;
        ts += Below(120000);
        if (r < 7) d.items.push_back(message(from, group, Text()));
        else d.items.push_back(receipt(from, group, r < 9 ? wire::ReceiptType::kDelivered
                                                          : wire::ReceiptType::kRead));
      }
      emit(d);
      emit(wire::InboxAck{p[to].inbox_seq});
    } else if (pick < 76) {
      // Group events in the group's chat order.
      wire::InboxItem it = message(from, true, "");
      it.msg_id = 0;
      it.kind = wire::ItemKind::kGroupEvent;
      it.event = static_cast<wire::GroupOp>(1 + Below(wire::kMaxGroupOp));
      it.event_user = Next() & 0x7fffffffffffffffull;
      if (it.event == wire::GroupOp::kCreate || it.event == wire::GroupOp::kRename)
        it.text = Words(kEnglish, 4 + Below(20), " ");
      emit(wire::Deliver{{it}});
    } else if (pick < 80) {
      // Media: an attachment with a caption.
      wire::AssetRef a;
      a.asset_id = node | Below(1u << 30);
      a.size = 2000 + Below(4000000);
      a.mime = kMimes[Below(kMimes.size())];
      for (int i = 0; i < 32; ++i) a.sha256 += static_cast<char>(Below(256));
      if (Below(2)) a.width = 320 + static_cast<uint32_t>(Below(3000)), a.height = 240 + static_cast<uint32_t>(Below(3000));
      wire::Send s;
      s.client_seq = ++p[from].client_seq;
      s.to_user = p[to].user;
      s.text = Below(2) ? Words(kEnglish, 5 + Below(40), " ") : "";
      s.assets.push_back(a);
      emit(s);
      wire::InboxItem m = message(from, false, s.text);
      m.assets = s.assets;
      emit(wire::SendAck{s.client_seq, Code::kOk, m.msg_id, m.chat_seq, ts});
      emit(wire::Deliver{{m}});
    } else if (pick < 86) {
      emit(wire::Ping{Next()});
      emit(wire::Pong{Next()});
    } else if (pick < 90) {
      wire::Resume r;
      r.version = 1;
      r.user_id = p[from].user;
      r.device_id = 1;
      r.token = std::string(43, 'x');
      r.inbox_epoch = static_cast<uint32_t>(Next()) | 1;
      r.last_inbox_seq = p[from].inbox_seq;
      r.last_acked_client_seq = p[from].client_seq;
      r.max_inflight = 1024;
      r.dict_ids = {1002, 1001, 1};
      emit(r);
      wire::Welcome w{p[from].user, 1, "", r.inbox_epoch, false, p[from].client_seq, 270000,
                      ts, 262144, 1024, 1002};
      emit(w);
    } else if (pick < 94) {
      wire::ReadMark rm;
      rm.req_id = static_cast<uint32_t>(1 + Below(1000));
      rm.peer_user = p[to].user;
      rm.chat_seq = chat_seq;
      emit(rm);
      emit(wire::Reply{rm.req_id, Code::kOk, ""});
    } else if (pick < 97) {
      wire::Presence pr;
      wire::PresenceInfo pi;
      pi.user_id = p[to].user;
      pi.online = Below(2) != 0;
      pi.last_seen_ms = pi.online ? 0 : ts - Below(86400000);
      pr.users.push_back(pi);
      emit(pr);
    } else {
      // Expiry notices: rare, but a client must get them small too.
      wire::InboxItem it;
      it.seq = ++p[to].inbox_seq;
      it.kind = Below(2) ? wire::ItemKind::kExpired : wire::ItemKind::kMissed;
      it.msg_id = node | Below(msg_counter + 1);
      it.sender_user = p[from].user;
      it.to_user = it.kind == wire::ItemKind::kExpired ? p[from].user : 0;
      it.server_ts_ms = ts;
      emit(wire::Deliver{{it}});
    }
  }
  out.resize(n);
  return out;
}

}  // namespace tern::tools
