// Tests of RFC 3339 parsing and formatting (common/time.h).
#include "common/time.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace interlock {
namespace INTERLOCK_TEST_NS {

struct Row {
  const char* in;
  int64_t unix_ms;
};

// Tests accepted timestamps: Z, offsets, fractions, leap day, lower-case t/z.
TEST(TimeTest, ParsesValidTimestamps) {
  const std::vector<Row> rows = {
      {"1970-01-01T00:00:00Z", 0},
      {"2026-11-22T10:00:00Z", 1795341600000},
      {"2026-11-22T10:00:00.123Z", 1795341600123},
      {"2026-11-22T10:00:00.1239Z", 1795341600123},
      {"2026-11-22T12:30:00+02:30", 1795341600000},
      {"2026-11-22T05:00:00-05:00", 1795341600000},
      {"2024-02-29T00:00:00Z", 1709164800000},
      {"2026-11-22t10:00:00z", 1795341600000},
      {"1969-12-31T23:59:59Z", -1000},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.in);
    Result<TimePoint> t = ParseRfc3339(r.in);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(ToUnixMillis(*t), r.unix_ms);
  }
}

// Tests rejected timestamps: missing zone, bad fields, non-leap Feb 29, trailing bytes.
TEST(TimeTest, RejectsInvalidTimestamps) {
  for (const char* s :
       {"", "2026-11-22", "2026-11-22T10:00:00", "2026-11-22 10:00:00Z", "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T10:60:00Z", "2026-11-22T10:00:00.Z",
        "2026-11-22T10:00:00+2:00", "2026-11-22T10:00:00+24:00", "2026-11-22T10:00:00Zx",
        "2026-11-22T10:00:00+02:00x", "2026-11-22T10:00:00+02", "+026-11-22T10:00:00Z",
        "2026-11-22T10:00:00.12a"}) {
    EXPECT_FALSE(ParseRfc3339(s).ok()) << s;
  }
}

// Tests formatting in UTC with milliseconds, including before the epoch, and round trip.
TEST(TimeTest, FormatsAndRoundTrips) {
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1795341600123)), "2026-11-22T10:00:00.123Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(-1)), "1969-12-31T23:59:59.999Z");
  for (int64_t ms : {int64_t{0}, int64_t{1709164800999}, int64_t{-86400001},
                     int64_t{9214646400000} /* 2262-01-01 */}) {
    Result<TimePoint> t = ParseRfc3339(FormatRfc3339(FromUnixMillis(ms)));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(ToUnixMillis(*t), ms);
  }
}

// Tests that the hand-written formatter agrees with gmtime_r + snprintf (its former
// implementation) across TimePoint's whole range: leap days, century years, before 1970.
TEST(TimeTest, FormatMatchesGmtimeAcrossTheRange) {
  auto reference = [](int64_t ms) {
    int64_t secs = ms / 1000;
    int64_t rem = ms % 1000;
    if (rem < 0) {
      rem += 1000;
      secs -= 1;
    }
    std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(rem));
    return std::string(buf);
  };
  std::vector<int64_t> cases = {0,
                                -1,
                                1,
                                86399999,
                                86400000,
                                -86400000,
                                -86400001,
                                951782400000,
                                951868799999,
                                4107542399999,
                                4107542400000,
                                -2208988800001,
                                -9223372036854,
                                9223372036853};
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    cases.push_back(static_cast<int64_t>(x % 18446744073708ull) - 9223372036854);
  }
  for (int64_t ms : cases) EXPECT_EQ(FormatRfc3339(FromUnixMillis(ms)), reference(ms)) << ms;
}

// Tests that timestamps outside what TimePoint (int64 nanoseconds, 1677..2262) can hold
// are rejected rather than wrapped (regression: they wrapped into the 18th century, so
// a far-future freeze window end could land in the past).
TEST(TimeTest, OutOfRangeYearsAreRejected) {
  EXPECT_TRUE(ParseRfc3339("2262-04-10T23:59:59Z").ok());
  EXPECT_FALSE(ParseRfc3339("2262-04-12T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2300-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("9999-12-31T23:59:59.999Z").ok());
  EXPECT_FALSE(ParseRfc3339("0000-01-01T00:00:00Z").ok());
}

// Tests that Unix milliseconds beyond what TimePoint holds saturate instead of overflowing
// (regression: a signed session cookie's expiry of year 3110 overflowed under UBSan).
TEST(TimeTest, FromUnixMillisSaturatesOutsideTheRange) {
  EXPECT_EQ(FromUnixMillis(36'000'000'000'010), TimePoint::max());
  EXPECT_EQ(FromUnixMillis(INT64_MAX), TimePoint::max());
  EXPECT_EQ(FromUnixMillis(INT64_MIN), TimePoint::min());
  EXPECT_EQ(ToUnixMillis(FromUnixMillis(kMaxUnixMillis - 1)), kMaxUnixMillis - 1);
}

// Tests that a leap second is accepted and clamped to :59.
TEST(TimeTest, LeapSecondClamps) {
  Result<TimePoint> t = ParseRfc3339("2016-12-31T23:59:60Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2016-12-31T23:59:59.000Z");
}

// Tests the manual clock used by every time-dependent test.
TEST(TimeTest, ManualClock) {
  ManualClock c(FromUnixMillis(1000));
  c.Advance(std::chrono::milliseconds(500));
  EXPECT_EQ(ToUnixMillis(c.Now()), 1500);
  c.Set(FromUnixMillis(7));
  EXPECT_EQ(ToUnixMillis(c.Now()), 7);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
