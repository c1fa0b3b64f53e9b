// RFC 3339 timestamps and the Clock interface.
//
// Clock is injected everywhere time matters (budgets, approvals, freezes) so tests can
// drive time. SystemClock is the only implementation that reads the OS clock.
#ifndef INTERLOCK_COMMON_TIME_H_
#define INTERLOCK_COMMON_TIME_H_

#include <chrono>
#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock {

using TimePoint = std::chrono::system_clock::time_point;

// Accepts "2026-11-22T10:00:00Z", fractional seconds, and "+hh:mm"/"-hh:mm" offsets.
Result<TimePoint> ParseRfc3339(std::string_view text);
// "2026-11-22T10:00:00.123Z" (milliseconds, UTC).
std::string FormatRfc3339(TimePoint t);

// Milliseconds since the Unix epoch.
inline int64_t ToUnixMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
// The UTC day (days since the epoch) of a time in Unix milliseconds, rounding down for
// times before 1970. Quotas count per UTC day.
inline int64_t UtcDayOfMillis(int64_t ms) {
  constexpr int64_t kDay = 86'400'000;
  return ms >= 0 ? ms / kDay : (ms - (kDay - 1)) / kDay;
}

// The largest Unix millisecond count a TimePoint holds (its ticks are nanoseconds on
// libstdc++: the year 2262).
inline constexpr int64_t kMaxUnixMillis =
    std::chrono::duration_cast<std::chrono::milliseconds>(TimePoint::duration::max()).count();

// Saturates outside TimePoint's range instead of overflowing (stored or signed values from
// outside may be anything).
inline TimePoint FromUnixMillis(int64_t ms) {
  if (ms >= kMaxUnixMillis) return TimePoint::max();
  if (ms <= -kMaxUnixMillis) return TimePoint::min();
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// A clock tests move by hand. Not thread-safe for concurrent Advance().
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : now_(start) {}
  TimePoint Now() const override { return now_; }
  void Set(TimePoint t) { now_ = t; }
  void Advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  TimePoint now_;
};

}  // namespace interlock

#endif  // INTERLOCK_COMMON_TIME_H_
