// Spelling suggestions for names people type (policy keys, tool names): the edit distance
// and the nearest known name, one rule for the policy loader and `interlock check`.
// Thread-safety: pure functions.
#ifndef INTERLOCK_COMMON_SPELLING_H_
#define INTERLOCK_COMMON_SPELLING_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace interlock {

// The Levenshtein distance of `a` and `b` (insertions, deletions and substitutions of one
// byte each).
size_t EditDistance(std::string_view a, std::string_view b);

// The first of `candidates` nearest to `name`, if it is within a third of the name's
// length (at least 2 edits); "" when none is that near.
template <class Range>
std::string NearestName(std::string_view name, const Range& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = EditDistance(name, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

}  // namespace interlock

#endif  // INTERLOCK_COMMON_SPELLING_H_
