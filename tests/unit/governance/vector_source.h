// A history the test writes record by record, for the governance reports' unit tests.
#ifndef INTERLOCK_TESTS_UNIT_GOVERNANCE_VECTOR_SOURCE_H_
#define INTERLOCK_TESTS_UNIT_GOVERNANCE_VECTOR_SOURCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/ports/history_source.h"
#include "policy/loader.h"

namespace interlock::governance::testing {

struct StoredRecord {
  int64_t seq = 0, time_ms = 0;
  std::string type, run_id, call_id, agent_id, data;
};

// Every record, in the order given, to every filter (the reports filter again themselves).
class VectorSource final : public core::HistorySource {
 public:
  explicit VectorSource(std::vector<StoredRecord> records) : records_(std::move(records)) {}
  Status ForEachRecord(const core::HistoryFilter&, const core::HistoryFn& fn) const override {
    for (const StoredRecord& s : records_) {
      core::HistoryRecord r;
      r.seq = s.seq;
      r.time_ms = s.time_ms;
      r.type = s.type;
      r.run_id = s.run_id;
      r.call_id = s.call_id;
      r.agent_id = s.agent_id;
      r.data = s.data;
      fn(r);
    }
    return Status::Ok();
  }

 private:
  std::vector<StoredRecord> records_;
};

// The PolicySet of one agent, parsed from `yaml` (a test failure when it does not parse).
inline policy::PolicySet OneAgentPolicies(std::string_view yaml, const std::string& file) {
  std::vector<policy::Diagnostic> d;
  auto p = policy::ParseAgentPolicy(yaml, file, &d);
  policy::PolicySet set;
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  if (p.ok()) set.agents[(*p)->id] = *p;
  return set;
}

}  // namespace interlock::governance::testing

#endif  // INTERLOCK_TESTS_UNIT_GOVERNANCE_VECTOR_SOURCE_H_
