#include "policy/texts.h"

#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/json/serialize.hpp>

#include "common/json.h"

namespace interlock::policy {

namespace json = boost::json;

namespace {

// True when `s` holds a byte AppendQuoted must escape: below 0x20, '"', '\\' or 0x7f.
// Names are tens of bytes, quoted several times per decision. With SSE2, sixteen bytes at
// a time, the last ones (fewer than sixteen) from a copy padded with a byte that needs no
// escaping. Otherwise eight bytes at a time: a lane of `hit` has its high bit set when its
// byte is one of those; a byte of 0x80 or more never sets it (~w masks it), and a borrow
// out of a lower lane only runs on from a lane that is itself a hit, so `hit` is zero
// exactly when no byte is.
bool NeedsEscape(std::string_view s) {
  const char* p = s.data();
  const char* const end = p + s.size();
#if defined(__SSE2__)
  auto hit = [](__m128i v) {
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    const __m128i slash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    const __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));
    return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(ctl, del), _mm_or_si128(quote, slash))) != 0;
  };
  for (; end - p >= 16; p += 16) {
    if (hit(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))) return true;
  }
  if (p == end) return false;
  alignas(16) char tail[16];
  std::memset(tail, 'a', sizeof tail);
  std::memcpy(tail, p, static_cast<size_t>(end - p));
  return hit(_mm_load_si128(reinterpret_cast<const __m128i*>(tail)));
#else
  for (; end - p >= 8; p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    constexpr uint64_t k01 = 0x0101010101010101ULL;
    constexpr uint64_t k80 = 0x8080808080808080ULL;
    const uint64_t quote = w ^ (k01 * '"');
    const uint64_t slash = w ^ (k01 * '\\');
    const uint64_t del = w ^ (k01 * 0x7f);
    const uint64_t hit = (((w - k01 * 0x20) & ~w) | ((quote - k01) & ~quote) |
                          ((slash - k01) & ~slash) | ((del - k01) & ~del)) &
                         k80;
    if (hit != 0) return true;
  }
  for (; p < end; ++p) {
    const auto b = static_cast<unsigned char>(*p);
    if (b < 0x20 || b == '"' || b == '\\' || b == 0x7f) return true;
  }
  return false;
#endif
}

}  // namespace

// Appends `s` as a JSON string literal, so names with quotes, control bytes or trailing
// spaces are unambiguous in reasons and rule ids.
void AppendQuoted(std::string* out, std::string_view s) {
  if (NeedsEscape(s)) {
    out->append(json::serialize(json::string_view(s.data(), s.size())));
    return;
  }
  out->push_back('"');
  out->append(s);
  out->push_back('"');
}

std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendQuoted(&out, s);
  return out;
}

// A JSON value for a reason: canonical (so reasons never depend on key order), cut
// short on a UTF-8 boundary when long, and summarised when it is a large container.
std::string ShowValue(const json::value& v) {
  constexpr size_t kMax = 80;
  constexpr size_t kMaxMembers = 16;
  if (const json::array* a = v.if_array(); a != nullptr && a->size() > kMaxMembers) {
    return "an array of " + std::to_string(a->size()) + " items";
  }
  if (const json::object* o = v.if_object(); o != nullptr && o->size() > kMaxMembers) {
    return "an object with " + std::to_string(o->size()) + " keys";
  }
  std::string s = CanonicalJson(v);
  if (s.size() <= kMax) return s;
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s += "...";
  return s;
}

std::string RuleId(std::string_view prefix, std::string_view name, std::string_view suffix) {
  std::string out;
  out.reserve(prefix.size() + name.size() + suffix.size() + 4);
  out.append(prefix);
  out.push_back('[');
  AppendQuoted(&out, name);
  out.push_back(']');
  out.append(suffix);
  return out;
}

std::string ShowList(const std::vector<json::value>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += ShowValue(values[i]);
  }
  return out;
}

std::string QuoteList(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    AppendQuoted(&out, names[i]);
  }
  return out;
}

}  // namespace interlock::policy
