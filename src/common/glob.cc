#include "common/glob.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace interlock {

bool GlobMatches(std::string_view pattern, std::string_view s) {
  // On a mismatch, the last star takes one byte more and matching resumes after it; an
  // earlier star never needs to, since the last one can absorb whatever it would.
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < s.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == s[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool GlobsOverlap(std::string_view a, std::string_view b) {
  // State (i, j): a[0, i) and b[0, j) have consumed the same string. Moves: a `*` matches
  // the empty string (i + 1), a `*` consumes the other side's literal byte, two equal
  // literals advance together. Two stars consuming together add nothing.
  const size_t w = b.size() + 1;
  std::vector<char> seen((a.size() + 1) * w, 0);
  std::vector<std::pair<size_t, size_t>> todo{{0, 0}};
  seen[0] = 1;
  auto push = [&](size_t i, size_t j) {
    if (seen[i * w + j]) return;
    seen[i * w + j] = 1;
    todo.emplace_back(i, j);
  };
  while (!todo.empty()) {
    auto [i, j] = todo.back();
    todo.pop_back();
    if (i == a.size() && j == b.size()) return true;
    const bool sa = i < a.size() && a[i] == '*';
    const bool sb = j < b.size() && b[j] == '*';
    if (sa) push(i + 1, j);
    if (sb) push(i, j + 1);
    if (sa && j < b.size() && !sb) push(i, j + 1);
    if (sb && i < a.size() && !sa) push(i + 1, j);
    if (!sa && !sb && i < a.size() && j < b.size() && a[i] == b[j]) push(i + 1, j + 1);
  }
  return false;
}

size_t GlobLiteralBytes(std::string_view pattern) {
  return pattern.size() - static_cast<size_t>(std::count(pattern.begin(), pattern.end(), '*'));
}

}  // namespace interlock
