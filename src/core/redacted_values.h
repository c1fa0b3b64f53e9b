// The plain values of calls' redacted arguments (a policy's `redact:` fields), kept in
// memory between a call's decision and its result, so that a result echoing one is masked
// before it is stored (docs/audit.md#redaction). Never stored, logged or sent anywhere.
//
// Bounded: at most kMaxCalls calls and kMaxBytes bytes of values, each for kTtl after its
// decision; the oldest go first. An entry is dropped when the call's result is recorded.
// A call whose values are not here (evicted, expired, decided by another process or before
// a restart) is never stored in plain text: core::RecordResultInTxn then withholds the
// result's output and error.
//
// Thread-safety: every method may be called from any thread concurrently.
#ifndef INTERLOCK_CORE_REDACTED_VALUES_H_
#define INTERLOCK_CORE_REDACTED_VALUES_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "common/time.h"

namespace interlock::core {

class RedactedValues {
 public:
  static constexpr size_t kMaxCalls = 65536;
  static constexpr size_t kMaxBytes = 64 << 20;
  // Long enough for an approval that waits a working day, short enough that a call whose
  // result is never reported does not hold its values for good.
  static constexpr std::chrono::hours kTtl{24};

  RedactedValues() = default;
  RedactedValues(const RedactedValues&) = delete;
  RedactedValues& operator=(const RedactedValues&) = delete;

  // The one instance of the process: the default of every Guard and core::Calls, so the
  // door that records a result finds what the door that decided the call kept.
  static RedactedValues* Process();

  // {field: value} of the `fields` present in `args` (empty: none).
  static boost::json::object Pick(const boost::json::object& args,
                                  const std::vector<std::string>& fields);

  // Keeps `values` (Pick's) for call_id, decided at `now`. Values kept for it already stay
  // (an approved call re-submitted with edited arguments: either may be echoed); a value
  // of the same field that differs is added as "<field>#<n>".
  void Keep(std::string_view call_id, boost::json::object values, TimePoint now);
  // What Keep kept for call_id, unless it expired by `now`.
  std::optional<boost::json::object> Find(std::string_view call_id, TimePoint now) const;
  void Forget(std::string_view call_id);
  size_t size() const;

 private:
  struct Entry {
    boost::json::object values;
    TimePoint kept;
    size_t bytes = 0;
    uint64_t generation = 0;  // tells a replaced entry's stale place in order_ apart
  };
  // Drops expired entries and, while over a bound, the oldest. mu_ held.
  void EvictLocked(TimePoint now);
  void EraseLocked(std::unordered_map<std::string, Entry>::iterator it);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::pair<std::string, uint64_t>> order_;  // oldest first; may hold stale ids
  size_t bytes_ = 0;
  uint64_t next_generation_ = 0;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_REDACTED_VALUES_H_
