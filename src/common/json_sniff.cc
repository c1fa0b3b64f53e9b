#include "common/json_sniff.h"

#include <bit>
#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace interlock {

bool ContainsQuoted(std::string_view s, std::string_view key) {
  const size_t n = key.size() + 2;  // with the quotes
  if (key.empty() || s.size() < n) return false;
  auto at = [&](size_t i) {
    return s[i] == '"' && s[i + n - 1] == '"' && s.compare(i + 1, key.size(), key) == 0;
  };
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(key.front());
  const __m128i last = _mm_set1_epi8(key.back());
  // Position i is a candidate when s[i + 1] is the key's first letter and s[i + n - 2]
  // its last; both loads stay inside s while i + n - 2 + 16 <= s.size().
  for (; i + n - 2 + 16 <= s.size(); i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i + 1));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i + n - 2));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last))));
    while (mask != 0) {
      const size_t k = i + static_cast<size_t>(std::countr_zero(mask));
      if (k + n <= s.size() && at(k)) return true;
      mask &= mask - 1;
    }
  }
#endif
  for (; i + n <= s.size(); ++i) {
    if (at(i)) return true;
  }
  return false;
}

namespace {

// Whether `s` holds a quoted key at i: '"', the key, '"' (the keys come unquoted).
bool QuotedAt(std::string_view s, size_t i, std::string_view key) {
  return s.size() - i >= key.size() + 2 && s[i] == '"' && s[i + key.size() + 1] == '"' &&
         s.compare(i + 1, key.size(), key) == 0;
}

}  // namespace

bool ContainsAnyQuoted(std::string_view s, std::initializer_list<std::string_view> keys) {
  if (keys.size() == 0) return false;
  const std::string_view k0 = *keys.begin();
  bool shared = k0.size() >= 2;
  for (std::string_view k : keys)
    shared = shared && k.size() >= 2 && k.substr(0, 2) == k0.substr(0, 2);
  if (!shared) {
    for (std::string_view k : keys) {
      if (ContainsQuoted(s, k)) return true;
    }
    return false;
  }
  const char c1 = k0[0];
  const char c2 = k0[1];
  auto at = [&](size_t i) {
    for (std::string_view k : keys) {
      if (QuotedAt(s, i, k)) return true;
    }
    return false;
  };
  size_t i = 0;
#if defined(__SSE2__)
  // The three loads stay inside s while i + 2 + 16 <= s.size().
  for (; i + 2 + 16 <= s.size(); i += 16) {
    const auto* d = reinterpret_cast<const __m128i*>(s.data() + i);
    const __m128i q = _mm_cmpeq_epi8(_mm_loadu_si128(d), _mm_set1_epi8('"'));
    const __m128i a = _mm_cmpeq_epi8(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i + 1)), _mm_set1_epi8(c1));
    const __m128i b = _mm_cmpeq_epi8(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i + 2)), _mm_set1_epi8(c2));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(q, _mm_and_si128(a, b))));
    while (mask != 0) {
      if (at(i + static_cast<size_t>(std::countr_zero(mask)))) return true;
      mask &= mask - 1;
    }
  }
#endif
  for (; i + 2 < s.size(); ++i) {
    if (s[i] == '"' && s[i + 1] == c1 && s[i + 2] == c2 && at(i)) return true;
  }
  return false;
}

}  // namespace interlock
