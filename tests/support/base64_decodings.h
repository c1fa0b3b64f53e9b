// Base64Decodings: every decoding of every base64 run of a text (split at anything not
// base64, the URL-safe alphabet read as the standard one) at each of the four character
// offsets: what a reader of a stored text could decode from it. For the tests that a
// redacted secret comes back in no encoding. Header-only.
#ifndef INTERLOCK_TESTS_SUPPORT_BASE64_DECODINGS_H_
#define INTERLOCK_TESTS_SUPPORT_BASE64_DECODINGS_H_

#include <cctype>
#include <string>
#include <vector>

#include "common/base64.h"

namespace interlock::testing {

inline std::vector<std::string> Base64Decodings(const std::string& text) {
  std::vector<std::string> out;
  auto is_b64 = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '-' ||
           c == '_';
  };
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && !is_b64(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && is_b64(text[j])) ++j;
    std::string run = text.substr(i, j - i);
    for (char& c : run) {
      if (c == '-') c = '+';
      if (c == '_') c = '/';
    }
    for (size_t off = 0; off < 4 && off < run.size(); ++off) {
      std::string piece = run.substr(off);
      piece.resize(piece.size() - piece.size() % 4);
      if (auto d = Base64DecodeLenient(piece); d.ok()) out.push_back(*d);
    }
    i = j;
  }
  return out;
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_BASE64_DECODINGS_H_
