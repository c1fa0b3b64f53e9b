#include "common/json.h"
#include "common/json_write.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/container/small_vector.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value_stack.hpp>

namespace interlock {
namespace {

namespace json = boost::json;

// A basic_parser handler that builds a value like boost::json::parser does, and in
// addition rejects duplicate keys in every object (Boost 1.81 silently keeps the last)
// and numbers that overflowed to infinity.
//
// Keys of every open object are kept in one flat buffer so that nesting costs no
// allocation per object; a frame records where each open object's keys begin.
class StrictHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  // `temp` (owned by the caller, outliving the handler) spares the value stack a heap
  // allocation for typical documents.
  StrictHandler(unsigned char* temp, size_t temp_size) : st({}, temp, temp_size) {}

  json::value_stack st;
  std::string problem;  // set when a check of ours (not Boost's) failed

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }

  bool on_object_begin(json::error_code&) {
    frames_.push_back(static_cast<uint32_t>(keys_.size()));
    return true;
  }

  bool on_object_end(std::size_t n, json::error_code& ec) {
    const size_t first = frames_.back();
    frames_.pop_back();
    if (HasDuplicate(first)) return Fail(ec);
    keys_.resize(first);
    key_bytes_.resize(keys_.empty() ? 0 : keys_.back().first + keys_.back().second);
    st.push_object(n);
    return true;
  }

  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }

  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_bytes_.insert(key_bytes_.end(), s.data(), s.data() + s.size());
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t n, json::error_code&) {
    key_bytes_.insert(key_bytes_.end(), s.data(), s.data() + s.size());
    keys_.emplace_back(static_cast<uint32_t>(key_bytes_.size() - n), static_cast<uint32_t>(n));
    st.push_key(s);
    return true;
  }

  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }

  bool on_number_part(json::string_view s, json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number_.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number_.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view tail, json::error_code& ec) {
    // Boost 1.81 converts decimals to double with up to one ulp of error, so the value
    // would differ from what a correctly rounding executor sees (and would not round-trip
    // through serialize). Re-convert the exact text with from_chars, which rounds
    // correctly; keep Boost's value only for underflow to zero or a subnormal.
    std::string_view text(tail.data(), tail.size());
    if (!number_.empty()) {
      number_.append(tail.data(), tail.size());
      text = number_;
    }
    double precise = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), precise);
    if (r.ec == std::errc() && r.ptr == text.data() + text.size()) d = precise;
    if (!std::isfinite(d)) {
      problem = "number " + std::string(text.substr(0, 40)) + " does not fit a double";
      return Fail(ec);
    }
    number_.clear();
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::string_view Key(size_t i) const {
    return std::string_view(key_bytes_.data() + keys_[i].first, keys_[i].second);
  }

  bool HasDuplicate(size_t first) {
    const size_t count = keys_.size() - first;
    if (count < 2) return false;
    if (count <= 16) {
      for (size_t i = first; i < keys_.size(); ++i) {
        for (size_t j = i + 1; j < keys_.size(); ++j) {
          if (Key(i) == Key(j)) return Duplicate(Key(i));
        }
      }
      return false;
    }
    std::vector<std::string_view> sorted;
    sorted.reserve(count);
    for (size_t i = first; i < keys_.size(); ++i) sorted.push_back(Key(i));
    std::sort(sorted.begin(), sorted.end());
    auto it = std::adjacent_find(sorted.begin(), sorted.end());
    return it != sorted.end() && Duplicate(*it);
  }

  bool Duplicate(std::string_view key) {
    problem = "duplicate object key " + json::serialize(json::string_view(key.substr(0, 80)));
    return true;
  }

  static bool Fail(json::error_code& ec) {
    // Any error code stops the parser; `problem` carries the message.
    ec = json::error::syntax;
    return false;
  }

  // Inline capacity for typical documents (a tool call's keys): no allocation per parse.
  std::string number_;                                   // a number split across parts
  boost::container::small_vector<char, 256> key_bytes_;  // keys of all open objects
  boost::container::small_vector<std::pair<uint32_t, uint32_t>, 32>
      keys_;                                             // (offset, size) into key_bytes_
  boost::container::small_vector<uint32_t, 16> frames_;  // first key index of each open object
};

template <typename Int>
void AppendInteger(Int n, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out->append(buf, r.ptr);
}

}  // namespace

namespace {

// A double as people read it: the shortest digits that round-trip, as a plain decimal
// ("0.5", "2.25", "0.0000001", "100000.0"); exponent form ("1e-300") only when the plain
// decimal would be longer than kMaxPlainDigits characters. Never Boost.JSON's "5E-1".
// A whole number keeps a ".0": "2" would read back as the integer 2, whose canonical form
// (and so an approval's argument hash) is not the double's, and "-0" without its sign.
void AppendReadableDouble(double d, std::string* out) {
  constexpr std::ptrdiff_t kMaxPlainDigits = 24;
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  if (r.ec != std::errc() || r.ptr - buf > kMaxPlainDigits) {
    r = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip, may be 1e-300
  }
  out->append(buf, r.ptr);
  if (std::find_if(buf, r.ptr, [](char c) { return c == '.' || c == 'e'; }) == r.ptr) {
    out->append(".0");
  }
}

// Copies bytes of [p, stop) to `o` while none needs escaping (most text) and returns how
// many it passed: the bytes before the first one to escape (a byte below 0x20, a '"' or a
// '\\'), or all of them. Blocks are copied whole before they are tested, so `o` needs room
// for two bytes per input byte plus a whole block (AppendJsonString's kSlack); the byte
// test after it decides in any case.
[[gnu::always_inline]] inline size_t CopyPlainJsonRun(const char* p, const char* const stop,
                                                      char* o) {
  const char* const from = p;
#if defined(__SSE2__)
  // Sixteen bytes at a time (SSE2, every x86-64): the block is copied as it is, then `p`
  // advances past the bytes before the first one to escape (below 0x20, unsigned:
  // min(b, 0x1f) == b). The last bytes (fewer than sixteen) are tested the same way, from a
  // copy padded with a byte that needs no escaping (only their lanes can hit; the store may
  // write past them, into the slack).
  while (p < stop) {
    auto n = static_cast<size_t>(stop - p);
    __m128i v;
    if (n >= 16) {
      v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      n = 16;
    } else {
      alignas(16) char tail[16];
      std::memset(tail, 'a', sizeof tail);
      std::memcpy(tail, p, n);
      v = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), v);
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    const __m128i slash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    const auto hit =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(ctl, _mm_or_si128(quote, slash))));
    if (hit != 0) return static_cast<size_t>(p - from) + std::countr_zero(hit);
    p += n;
    o += n;
  }
#else
  // Eight bytes at a time: the word is copied as it is, then `p` advances past the bytes
  // before the first one to escape. In each word, a byte below 0x20, a '"' or a '\\' sets the
  // high bit of its lane in `hit`; the lowest set lane is exactly the first such byte (a
  // borrow only starts at one).
  while (stop - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    std::memcpy(o, &w, 8);
    constexpr uint64_t k01 = 0x0101010101010101ULL;
    constexpr uint64_t k80 = 0x8080808080808080ULL;
    const uint64_t quote = w ^ (k01 * '"');
    const uint64_t slash = w ^ (k01 * '\\');
    const uint64_t hit =
        (((w - k01 * 0x20) & ~w) | ((quote - k01) & ~quote) | ((slash - k01) & ~slash)) & k80;
    if (hit != 0) {
      // Lanes are in memory order only on a little-endian machine; elsewhere the byte test
      // after this walks on one byte at a time.
      if constexpr (std::endian::native == std::endian::little) {
        return static_cast<size_t>(p - from) + static_cast<size_t>(std::countr_zero(hit) / 8);
      }
      return static_cast<size_t>(p - from);
    }
    p += 8;
    o += 8;
  }
#endif
  return static_cast<size_t>(p - from);
}

}  // namespace

// Room AppendJsonString keeps past the write position beyond two bytes per input byte: a
// whole SSE2 block (CopyPlainJsonRun stores blocks whole) and the closing quote.
constexpr size_t kJsonStringSlack = 17;

// Writes [p, stop) escaped at `o`, advancing both. `limit` ends the room at `o`, which is
// at least two bytes per input byte left (a '"' or '\\' escape) plus kJsonStringSlack.
// A control byte takes six ("\u00xx"): when that would leave less room, it stops with `p`
// at that byte for the caller to grow the room and call again.
[[gnu::always_inline]] inline void EscapeJsonRun(const char*& p, const char* const stop, char*& o,
                                                 const char* const limit) {
  static constexpr char kHex[] = "0123456789abcdef";
  while (p < stop) {
    const size_t plain = CopyPlainJsonRun(p, stop, o);
    p += plain;
    o += plain;
    if (p == stop) return;
    const auto c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *o++ = static_cast<char>(c);
      ++p;
      continue;
    }
    o[0] = '\\';
    switch (c) {
      case '"':
      case '\\':
        o[1] = static_cast<char>(c);  // '"' and '\\' as themselves
        break;
      case '\b':
        o[1] = 'b';
        break;
      case '\t':
        o[1] = 't';
        break;
      case '\n':
        o[1] = 'n';
        break;
      case '\f':
        o[1] = 'f';
        break;
      case '\r':
        o[1] = 'r';
        break;
      default: {  // other control characters: \u00xx, lower-case hex
        const auto rest = static_cast<size_t>(stop - p - 1);
        if (static_cast<size_t>(limit - o) < 6 + 2 * rest + kJsonStringSlack) return;
        o[1] = 'u';
        o[2] = '0';
        o[3] = '0';
        o[4] = kHex[c >> 4];
        o[5] = kHex[c & 0xf];
        o += 4;
      }
    }
    o += 2;
    ++p;
  }
}

// A string as Boost.JSON's serializer writes it, byte for byte (the canonical form hashes
// it): '"' and '\\' escaped, control characters as \b \t \n \f \r or \u00xx (lower-case
// hex), every other byte as is. Written here so that a key or a value costs no temporary
// string (`interlock decide` prints 100,000 lines a second), and no append call per
// escaped byte (reasons quote names, so most decisions escape a few quotes).
void AppendJsonString(std::string_view s, std::string* out) {
  constexpr size_t kSmall = 64;    // most names, ids and reasons
  constexpr size_t kChunk = 4096;  // bounds the temporary growth (24 KiB at worst)
  const char* p = s.data();
  const char* const end = p + s.size();
  if (s.size() <= kSmall) {
    // Escaped on the stack, where every byte's worst case fits, and appended once: no
    // growth of `out` first and cut back after.
    char text[1 + 6 * kSmall + kJsonStringSlack];
    char* o = text;
    *o++ = '"';
    EscapeJsonRun(p, end, o, text + sizeof text);  // never stops early here
    *o++ = '"';
    out->append(text, static_cast<size_t>(o - text));
    return;
  }
  // Longer text is written straight into `out`, grown first for a chunk of the input and
  // cut back after it (the opening quote goes into the first chunk's room).
  bool opened = false;
  while (p < end) {
    const char* const stop = p + std::min<size_t>(static_cast<size_t>(end - p), kChunk);
    const size_t at = out->size();
    out->resize(at + (opened ? 0 : 1) + 2 * static_cast<size_t>(stop - p) + kJsonStringSlack);
    char* base = out->data();
    char* o = base + at;
    if (!opened) {
      *o++ = '"';
      opened = true;
    }
    for (;;) {
      EscapeJsonRun(p, stop, o, base + out->size());
      if (p == stop) break;
      // A control byte without room for it: room for the worst case of the rest of the
      // chunk, at most once per chunk.
      const auto used = static_cast<size_t>(o - base);
      out->resize(used + 6 * static_cast<size_t>(stop - p) + kJsonStringSlack);
      base = out->data();
      o = base + used;
    }
    if (p == end) *o++ = '"';
    out->resize(static_cast<size_t>(o - base));
  }
}

void AppendJsonDouble(double d, JsonStyle style, std::string* out) {
  if (style == JsonStyle::kReadable && std::isfinite(d)) {
    AppendReadableDouble(d, out);
    return;
  }
  if (style == JsonStyle::kCanonicalByValue && d == std::trunc(d)) {
    if (d >= -0x1p63 && d < 0x1p63) {
      AppendInteger(static_cast<int64_t>(d), out);
      return;
    }
    if (d >= 0 && d < 0x1p64) {
      AppendInteger(static_cast<uint64_t>(d), out);
      return;
    }
  }
  // Boost.JSON's form ("2E-2", "1E300", non-finite ones as it prints them): the canonical
  // bytes, written through a serializer on the stack rather than a temporary string.
  const json::value v(d);
  json::serializer sr;
  sr.reset(&v);
  char buf[64];
  while (!sr.done()) {
    const json::string_view part = sr.read(buf, sizeof buf);
    out->append(part.data(), part.size());
  }
}

void AppendJson(const json::object& o, JsonStyle style, std::string* out) {
  out->push_back('{');
  auto member = [&](const json::key_value_pair& kv, bool first) {
    if (!first) out->push_back(',');
    AppendJsonString(kv.key(), out);
    out->push_back(':');
    AppendJson(kv.value(), style, out);
  };
  if (style == JsonStyle::kReadable) {
    bool first = true;
    for (const auto& kv : o) {
      member(kv, first);
      first = false;
    }
  } else {
    // Small objects (the common case) sort on the stack. std::string_view compares with
    // char_traits<char>, i.e. as unsigned bytes: the canonical order.
    boost::container::small_vector<const json::key_value_pair*, 16> members;
    members.reserve(o.size());
    for (const auto& kv : o) members.push_back(&kv);
    std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
      return std::string_view(a->key()) < std::string_view(b->key());
    });
    for (size_t i = 0; i < members.size(); ++i) member(*members[i], i == 0);
  }
  out->push_back('}');
}

void AppendJson(const json::value& v, JsonStyle style, std::string* out) {
  switch (v.kind()) {
    case json::kind::object:
      AppendJson(v.get_object(), style, out);
      return;
    case json::kind::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(item, style, out);
      }
      out->push_back(']');
      return;
    }
    case json::kind::string:
      AppendJsonString(v.get_string(), out);
      return;
    case json::kind::int64:
      AppendInteger(v.get_int64(), out);
      return;
    case json::kind::uint64:
      AppendInteger(v.get_uint64(), out);
      return;
    case json::kind::bool_:
      AppendJsonBool(v.get_bool(), out);
      return;
    case json::kind::null:
      out->append("null");
      return;
    case json::kind::double_:
      AppendJsonDouble(v.get_double(), style, out);
      return;
  }
}

JsonObjectWriter::JsonObjectWriter(JsonStyle style, std::string* out)
    : JsonObjectWriter(style, out, true, false) {}

JsonObjectWriter JsonObjectWriter::Continuing(std::string* out, bool has_members) {
  return JsonObjectWriter(JsonStyle::kReadable, out, false, has_members);
}

JsonObjectWriter::JsonObjectWriter(JsonStyle style, std::string* out, bool open, bool has_members)
    : style_(style), out_(out), braces_(open), first_(!has_members) {
  if (braces_) out_->push_back('{');
  begin_ = out_->size();
}

std::string* JsonObjectWriter::Key(std::string_view key) {
  return BeginMember(key, {}, MemberValue::kNone);
}

void JsonObjectWriter::String(std::string_view key, std::string_view v) {
  BeginMember(key, v, MemberValue::kString);
}

void JsonObjectWriter::Word(std::string_view key, std::string_view word) {
  BeginMember(key, word, MemberValue::kWord);
}

std::string* JsonObjectWriter::BeginMember(std::string_view key, std::string_view value,
                                           MemberValue kind) {
  // ',' '"' key '"' ':' and the value, if any, in one append when they fit the stack (a
  // usual short key and value; a reply writes some twenty members).
  char text[512];
  size_t n = 0;
  if (!first_) text[n++] = ',';
  const size_t at = out_->size() + n;  // the member's '"'
  first_ = false;
  if (style_ != JsonStyle::kReadable) members_.push_back({key, at});
  const size_t room = kind == MemberValue::kNone   ? 0
                      : kind == MemberValue::kWord ? value.size() + 2
                                                   : 6 * value.size() + 2 + kJsonStringSlack;
  if (key.size() + 4 + room <= sizeof text) {
    text[n++] = '"';
    std::memcpy(text + n, key.data(), key.size());
    n += key.size();
    text[n++] = '"';
    text[n++] = ':';
    if (kind == MemberValue::kWord) {
      text[n++] = '"';
      std::memcpy(text + n, value.data(), value.size());
      n += value.size();
      text[n++] = '"';
    } else if (kind == MemberValue::kString) {
      // Every byte's worst case fits (`room`), so the run never stops early.
      const char* p = value.data();
      char* o = text + n;
      *o++ = '"';
      EscapeJsonRun(p, value.data() + value.size(), o, text + sizeof text);
      *o++ = '"';
      n = static_cast<size_t>(o - text);
    }
    out_->append(text, n);
    return out_;
  }
  out_->append(text, n);
  out_->push_back('"');
  out_->append(key);
  out_->append("\":", 2);
  if (kind == MemberValue::kWord) {
    out_->push_back('"');
    out_->append(value);
    out_->push_back('"');
  } else if (kind == MemberValue::kString) {
    AppendJsonString(value, out_);
  }
  return out_;
}

void JsonObjectWriter::End() {
  if (style_ != JsonStyle::kReadable && members_.size() > 1) {
    auto by_key = [](const Member& a, const Member& b) { return a.key < b.key; };
    if (!std::is_sorted(members_.begin(), members_.end(), by_key)) {
      // Each member's text runs from its '"' to the ',' before the next one (or the end):
      // copy them out in key order and write them back in place.
      const size_t end = out_->size();
      boost::container::small_vector<std::pair<Member, size_t>, 16> spans;  // member, length
      for (size_t i = 0; i < members_.size(); ++i) {
        const size_t next = i + 1 < members_.size() ? members_[i + 1].at - 1 : end;
        spans.push_back({members_[i], next - members_[i].at});
      }
      std::stable_sort(spans.begin(), spans.end(),
                       [&](const auto& a, const auto& b) { return by_key(a.first, b.first); });
      std::string sorted;
      sorted.reserve(end - begin_);
      for (const auto& [m, len] : spans) {
        if (!sorted.empty()) sorted.push_back(',');
        sorted.append(*out_, m.at, len);
      }
      out_->replace(begin_, end - begin_, sorted);
    }
  }
  members_.clear();
  if (braces_) out_->push_back('}');
  braces_ = false;
}

void AppendJsonScaled(int64_t units, int scale, std::string* out) {
  static constexpr int64_t kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  static constexpr double kPow10d[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
  // Below 10^15 the exact decimal units / 10^scale has at most 15 significant digits, so
  // it is the only decimal of that length or shorter that reads back as the double
  // nearest to it (DBL_DIG): exactly the shortest round-trip text that AppendJsonDouble
  // prints. Anything else goes through AppendJsonDouble itself.
  if (units < 0 || units >= 1'000'000'000'000'000 || scale < 0 || scale > 6) {
    const int s = std::clamp(scale, 0, 6);
    AppendJsonDouble(static_cast<double>(units) / kPow10d[s], JsonStyle::kReadable, out);
    return;
  }
  const int64_t whole = units / kPow10[scale];
  int64_t frac = units % kPow10[scale];
  // Written into one buffer and appended once: at most 15 digits, '.' and 6 digits.
  char buf[32];
  char* p = std::to_chars(buf, buf + 16, whole).ptr;
  if (frac != 0) {
    int digits = scale;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    *p++ = '.';
    for (int i = digits - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    p += digits;
  } else {
    *p++ = '.';  // a whole number as AppendReadableDouble writes it: "2.0", a double
    *p++ = '0';
  }
  out->append(buf, static_cast<size_t>(p - buf));
}

void AppendJsonInt(int64_t n, std::string* out) { AppendInteger(n, out); }
void AppendJsonUint(uint64_t n, std::string* out) { AppendInteger(n, out); }

void AppendJsonCounts(const std::map<std::string, uint64_t, std::less<>>& counts,
                      std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [key, n] : counts) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(key, out);
    out->push_back(':');
    AppendJsonUint(n, out);
  }
  out->push_back('}');
}

Result<boost::json::value> ParseJsonStrict(std::string_view text, const JsonLimits& limits,
                                           json::storage_ptr sp) {
  // Key offsets are 32-bit; no sane limit comes near, but never let them wrap.
  if (text.size() > limits.max_bytes || text.size() > UINT32_MAX) {
    return Error::Invalid("JSON document is " + std::to_string(text.size()) +
                          " bytes; the limit is " + std::to_string(limits.max_bytes));
  }
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  opt.allow_comments = false;
  opt.allow_trailing_commas = false;
  opt.allow_invalid_utf8 = false;
  unsigned char temp[2048];
  json::basic_parser<StrictHandler> p(opt, temp, sizeof(temp));
  p.handler().st.reset(std::move(sp));  // the storage of the value it builds
  json::error_code ec;
  const size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    if (!p.handler().problem.empty()) return Error::Invalid("invalid JSON: " + p.handler().problem);
    if (ec == json::error::too_deep) {
      return Error::Invalid("invalid JSON: nesting is deeper than " +
                            std::to_string(limits.max_depth) + " levels");
    }
    return Error::Invalid("invalid JSON: " + ec.message());
  }
  if (n != text.size()) {
    return Error::Invalid("invalid JSON: trailing content after the document at byte " +
                          std::to_string(n));
  }
  return p.handler().st.release();
}

Result<boost::json::value> ParseOwnJson(std::string_view text, json::storage_ptr sp) {
  // Four times a door's depth: a stored record nests a call's arguments a few levels down.
  static constexpr JsonLimits kOwn{.max_bytes = UINT32_MAX, .max_depth = 256};
  return ParseJsonStrict(text, kOwn, std::move(sp));
}

std::string CanonicalJson(const boost::json::value& v) {
  std::string out;
  AppendJson(v, JsonStyle::kCanonical, &out);
  return out;
}

const char* JsonKindName(boost::json::kind k) {
  switch (k) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

std::string ToJsonText(const boost::json::value& v) {
  std::string out;
  AppendJson(v, JsonStyle::kReadable, &out);
  return out;
}

std::string StringMember(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string DescribeDaemonReply(int status, std::string_view body) {
  std::string s = "the daemon answered HTTP " + std::to_string(status);
  auto doc = ParseJsonStrict(body);
  if (doc.ok() && doc->is_object()) {
    const std::string code = StringMember(doc->get_object(), "code");
    const std::string reason = StringMember(doc->get_object(), "reason");
    if (!code.empty() || !reason.empty()) s += " (" + code + ": " + reason + ")";
  }
  return s;
}

}  // namespace interlock
