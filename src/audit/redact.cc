#include "audit/redact.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/text.h"

namespace interlock::audit {

std::string Redactor::Hash(const boost::json::value& v) const {
  return "hmac-sha256:" + HmacSha256Hex(key_, CanonicalJson(v));
}

boost::json::object Redactor::RedactArgs(const boost::json::object& args,
                                         const std::vector<std::string>& fields) const {
  boost::json::object out = args;
  for (const std::string& f : fields) {
    if (auto it = out.find(f); it != out.end()) it->value() = Hash(it->value());
  }
  return out;
}

namespace {
constexpr std::string_view kSealedPrefix = "sealed:aes-256-gcm:";

std::string SealAad(std::string_view context, std::string_view field) {
  std::string aad(context);
  aad.push_back('\0');
  aad.append(field);
  return aad;
}
}  // namespace

std::string Redactor::SealKey() const {
  return HkdfSha256(key_, "", "interlock sealed arguments v1", 32);
}

boost::json::object Redactor::SealFields(const boost::json::object& args,
                                         const std::vector<std::string>& fields,
                                         std::string_view context,
                                         std::vector<std::string>* sealed) const {
  boost::json::object out = args;
  const std::string key = SealKey();
  for (const std::string& f : fields) {
    auto it = out.find(f);
    if (it == out.end()) continue;
    it->value() = std::string(kSealedPrefix) +
                  Base64UrlEncode(AeadSeal(key, SealAad(context, f), CanonicalJson(it->value())));
    sealed->push_back(f);
  }
  return out;
}

Result<boost::json::object> Redactor::OpenFields(boost::json::object args,
                                                 const std::vector<std::string>& sealed,
                                                 std::string_view context) const {
  const std::string key = SealKey();
  for (const std::string& f : sealed) {
    auto bad = [&f] {
      return Error::Corrupt("the sealed argument " + f +
                            " does not open under this deployment's audit key");
    };
    auto it = args.find(f);
    if (it == args.end() || !it->value().is_string() ||
        !it->value().get_string().subview().starts_with(kSealedPrefix)) {
      return bad();
    }
    Result<std::string> bytes =
        Base64UrlDecode(it->value().get_string().subview().substr(kSealedPrefix.size()));
    if (!bytes.ok()) return bad();
    std::optional<std::string> plain = AeadOpen(key, SealAad(context, f), *bytes);
    if (!plain) return bad();
    Result<boost::json::value> v = ParseOwnJson(*plain);
    if (!v.ok()) return bad();
    it->value() = std::move(*v);
  }
  return args;
}

bool Redactor::IsRedacted(const boost::json::value& v) {
  static constexpr std::string_view kPrefix = "hmac-sha256:";
  const boost::json::string* s = v.if_string();
  if (s == nullptr || s->size() != kPrefix.size() + 64 || !s->subview().starts_with(kPrefix)) {
    return false;
  }
  return std::all_of(s->begin() + kPrefix.size(), s->end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

namespace {

// Calls `found(pos)` for each occurrence of `s` (non-empty) in `text`, left to right, none
// overlapping the one before. Boyer-Moore-Horspool: a result is scanned for a dozen forms
// of each value, and a plain find stops at every occurrence of a form's first byte.
template <class Found>
void ForEachOccurrence(std::string_view text, const std::string& s, Found&& found) {
  if (s.size() > text.size()) return;
  const std::boyer_moore_horspool_searcher searcher(s.begin(), s.end());
  for (auto it = text.begin();;) {
    const auto hit = searcher(it, text.end()).first;
    if (hit == text.end()) return;
    found(static_cast<size_t>(hit - text.begin()));
    it = hit + static_cast<std::ptrdiff_t>(s.size());
  }
}

// `text` with the bytes that one step of percent-decoding (`%XX` a byte, `+` a space)
// turns into one of `order`'s secrets masked: each run of encoded bytes that decodes to a
// secret (longest secret first, overlapping runs merged) becomes one "[REDACTED]".
std::string MaskPercentEncoded(std::string text, const std::vector<const std::string*>& order) {
  std::string decoded(text.size(), '\0');
  std::vector<size_t> from(text.size() + 1);  // from[i]: where decoded byte i starts
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++n) {
    from[n] = i;
    if (text[i] == '%' && i + 2 < text.size() && HexDigitValue(text[i + 1]) >= 0 &&
        HexDigitValue(text[i + 2]) >= 0) {
      decoded[n] = static_cast<char>(HexDigitValue(text[i + 1]) * 16 + HexDigitValue(text[i + 2]));
      i += 3;
    } else {
      decoded[n] = text[i] == '+' ? ' ' : text[i];
      ++i;
    }
  }
  from[n] = text.size();
  decoded.resize(n);
  if (decoded == text) return text;
  std::vector<std::pair<size_t, size_t>> spans;  // [begin, end) in `text`
  for (const std::string* sp : order) {
    const std::string& s = *sp;
    if (s.empty()) continue;
    ForEachOccurrence(decoded, s,
                      [&](size_t pos) { spans.emplace_back(from[pos], from[pos + s.size()]); });
  }
  if (spans.empty()) return text;
  std::sort(spans.begin(), spans.end());
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  for (size_t k = 0; k < spans.size();) {
    size_t begin = spans[k].first;
    size_t end = spans[k].second;
    for (++k; k < spans.size() && spans[k].first < end; ++k) end = std::max(end, spans[k].second);
    out.append(text, at, begin - at);
    out += "[REDACTED]";
    at = end;
  }
  out.append(text, at, std::string::npos);
  return out;
}

}  // namespace

std::string Redactor::MaskSecrets(std::string text, const std::vector<std::string>& secrets) {
  // Longest first: a secret holding another (one upstream's token a prefix of another's)
  // is masked whole, not cut into "[REDACTED]" and a visible rest.
  std::vector<const std::string*> order;
  order.reserve(secrets.size());
  for (const std::string& s : secrets) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const std::string* a, const std::string* b) {
    return a->size() > b->size();
  });
  for (const std::string* sp : order) {
    const std::string& s = *sp;
    if (s.empty()) continue;
    std::string masked;
    size_t at = 0;
    ForEachOccurrence(text, s, [&](size_t pos) {
      masked.append(text, at, pos - at);
      masked += "[REDACTED]";
      at = pos + s.size();
    });
    if (at == 0) continue;
    masked.append(text, at, std::string::npos);
    text = std::move(masked);
  }
  // Not find_first_of: it calls memchr on the set once per byte of the text.
  if (std::any_of(text.begin(), text.end(), [](char c) { return c == '%' || c == '+'; })) {
    text = MaskPercentEncoded(std::move(text), order);
  }
  return text;
}

bool Redactor::MaskSecretsInJson(boost::json::value* v, const std::vector<std::string>& secrets) {
  if (secrets.empty()) return false;
  if (boost::json::string* str = v->if_string()) {
    std::string masked = MaskSecrets(std::string(*str), secrets);
    if (masked == *str) return false;
    *str = masked;
    return true;
  }
  bool changed = false;
  if (boost::json::array* a = v->if_array()) {
    for (boost::json::value& e : *a) changed |= MaskSecretsInJson(&e, secrets);
    return changed;
  }
  boost::json::object* o = v->if_object();
  if (o == nullptr) return false;
  bool key_changed = false;
  for (auto& kv : *o) {
    changed |= MaskSecretsInJson(&kv.value(), secrets);
    key_changed = key_changed || MaskSecrets(std::string(kv.key()), secrets) != kv.key();
  }
  if (!key_changed) return changed;
  boost::json::object out;
  out.reserve(o->size());
  for (auto& kv : *o) {
    std::string key = MaskSecrets(std::string(kv.key()), secrets);
    if (out.contains(key)) {
      int n = 2;
      while (out.contains(key + "#" + std::to_string(n))) ++n;
      key += "#" + std::to_string(n);
    }
    out.emplace(key, std::move(kv.value()));
  }
  *o = std::move(out);
  return true;
}

namespace {

// `s` as it reads between the quotes of a JSON string: `"`, `\` and control characters
// escaped; with `ascii`, every non-ASCII character as \uXXXX (`upper`: hex in upper case).
// Invalid UTF-8 is kept as it is.
std::string JsonEscaped(std::string_view s, bool ascii, bool upper) {
  const char* hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  auto u = [&](uint32_t cp) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += hex[(cp >> shift) & 0xF];
  };
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      switch (c) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          u(c);
      }
      ++i;
    } else if (c < 0x80 || !ascii) {
      out += static_cast<char>(c);
      ++i;
    } else {
      const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (n == 1 || i + n > s.size()) {
        out += static_cast<char>(c);
        ++i;
        continue;
      }
      uint32_t cp = c & (0x7F >> n);
      for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        u(0xD800 + (cp >> 10));
        u(0xDC00 + (cp & 0x3FF));
      } else {
        u(cp);
      }
      i += n;
    }
  }
  return out;
}

// `text` (standard) with `+` and `/` as base64url writes them.
std::string UrlAlphabet(std::string text) {
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

// The base64 forms of `bytes` (EchoForms): whole, padded and not, and the characters its
// bytes alone determine when it starts 0, 1 or 2 bytes into a 3-byte group of a longer
// encoded text (those of a group it shares with a neighbour's bytes depend on them too);
// each in both alphabets.
void AddBase64Forms(std::string_view bytes, const std::function<void(std::string)>& add) {
  const std::string whole = Base64Encode(bytes, /*pad=*/true);
  add(whole);
  add(UrlAlphabet(whole));
  const std::string bare = Base64Encode(bytes, /*pad=*/false);
  add(bare);
  add(UrlAlphabet(bare));
  for (size_t lead = 0; lead < 3; ++lead) {
    std::string shifted(lead, '\0');
    shifted.append(bytes);
    const std::string encoded = Base64Encode(shifted, /*pad=*/false);
    const size_t first = (lead * 8 + 5) / 6;       // past the chars holding lead bits
    const size_t last = (shifted.size() * 8) / 6;  // chars whose 6 bits are all known
    if (last <= first || last - first < Redactor::kMinEchoBytes) continue;
    const std::string core = encoded.substr(first, last - first);
    add(core);
    add(UrlAlphabet(core));
  }
}

void AddEchoForms(const boost::json::value& v, std::vector<std::string>* out) {
  std::function<void(std::string)> add = [out](std::string s) {
    if (std::find(out->begin(), out->end(), s) == out->end()) out->push_back(std::move(s));
  };
  if (const boost::json::string* s = v.if_string()) {
    const std::string_view text(s->data(), s->size());
    if (text.size() < Redactor::kMinEchoBytes) return;
    add(std::string(text));
    const std::string escaped = JsonEscaped(text, false, false);
    add(escaped);
    add(JsonEscaped(text, true, false));
    add(JsonEscaped(text, true, true));
    AddBase64Forms(text, add);
    if (escaped != text) AddBase64Forms(escaped, add);
  } else if (v.is_int64() || v.is_uint64()) {
    std::string text =
        v.is_int64() ? std::to_string(v.get_int64()) : std::to_string(v.get_uint64());
    if (text.size() < Redactor::kMinEchoBytes) return;
    AddBase64Forms(text, add);
    add(std::move(text));
  } else if (const boost::json::array* a = v.if_array()) {
    for (const boost::json::value& e : *a) AddEchoForms(e, out);
  } else if (const boost::json::object* o = v.if_object()) {
    for (const auto& kv : *o) AddEchoForms(kv.value(), out);
  }
}

}  // namespace

std::vector<std::string> Redactor::EchoForms(const boost::json::object& values) {
  std::vector<std::string> out;
  for (const auto& kv : values) AddEchoForms(kv.value(), &out);
  return out;
}

namespace {

bool IsMediaContent(const boost::json::object& o) {
  const boost::json::value* type = o.if_contains("type");
  return type != nullptr && type->is_string() &&
         (type->get_string() == "image" || type->get_string() == "audio");
}

// One encoded value (MaskEncodedContent): masked inside, or withheld.
bool MaskEncodedValue(boost::json::string* encoded, const std::vector<std::string>& secrets) {
  if (encoded->size() > Redactor::kMaxScannedContentBytes) {
    *encoded = "[WITHHELD: " + std::to_string(encoded->size()) +
               " characters of encoded content, over the " +
               std::to_string(Redactor::kMaxScannedContentBytes) + " checked for redacted values]";
    return true;
  }
  Result<std::string> bytes = Base64DecodeLenient(encoded->subview());
  if (!bytes.ok()) {
    *encoded = "[WITHHELD: encoded content that is not base64 (" + bytes.error().message +
               "), so it cannot be checked for redacted values]";
    return true;
  }
  std::string masked = Redactor::MaskSecrets(*bytes, secrets);
  if (masked == *bytes) return false;
  *encoded = Base64Encode(masked, /*pad=*/true);
  return true;
}

}  // namespace

bool Redactor::MaskEncodedContent(boost::json::value* v, const std::vector<std::string>& secrets) {
  if (secrets.empty()) return false;
  bool changed = false;
  if (boost::json::array* a = v->if_array()) {
    for (boost::json::value& e : *a) changed |= MaskEncodedContent(&e, secrets);
    return changed;
  }
  boost::json::object* o = v->if_object();
  if (o == nullptr) return false;
  const bool media = IsMediaContent(*o);
  for (auto& kv : *o) {
    boost::json::string* text = kv.value().if_string();
    if (text != nullptr && (kv.key() == "blob" || (media && kv.key() == "data"))) {
      changed |= MaskEncodedValue(text, secrets);
    } else {
      changed |= MaskEncodedContent(&kv.value(), secrets);
    }
  }
  return changed;
}

bool Redactor::MaskCutSecret(std::string* text, const std::vector<std::string>& secrets) {
  size_t longest = 0;
  for (const std::string& s : secrets) {
    for (size_t k = std::min(s.empty() ? 0 : s.size() - 1, text->size()); k > longest; --k) {
      if (text->compare(text->size() - k, k, s, 0, k) == 0) {
        longest = k;
        break;
      }
    }
  }
  if (longest == 0) return false;
  text->replace(text->size() - longest, longest, "[REDACTED]");
  return true;
}

}  // namespace interlock::audit
