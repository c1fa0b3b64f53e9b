// Sums that stop at the type's maximum (or minimum) instead of wrapping: usage counters an
// agent reports (a call's tokens are any uint64), where a wrapped total would read as small
// and let a quota or budget pass.
// Thread-safety: pure functions.
#ifndef INTERLOCK_COMMON_SATURATING_H_
#define INTERLOCK_COMMON_SATURATING_H_

#include <cstdint>
#include <limits>

namespace interlock {

inline uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  uint64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<uint64_t>::max() : sum;
}

inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// `v` as a non-negative int64 column holds it: at most INT64_MAX.
inline int64_t ClampToInt64(uint64_t v) {
  return static_cast<int64_t>(v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                                  ? static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                                  : v);
}

}  // namespace interlock

#endif  // INTERLOCK_COMMON_SATURATING_H_
