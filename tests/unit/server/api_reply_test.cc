// Tests the decision answer's run state written as text (server::AppendRunStateJson, what
// POST /v1/runs/{id}/calls answers under "run"): the same bytes as the boost::json tree it
// replaced (RunStateJson printed by ToJsonText), for every kind of member.
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "common/json.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {
namespace INTERLOCK_TEST_NS {

std::string Text(const RunState& s) {
  std::string out;
  AppendRunStateJson(s, &out);
  return out;
}

// Tests that the text form of a run state is byte for byte the tree's text: zero and
// large counters, fractional and whole costs and ages, a halt reason and tool names that
// need escaping (quotes, backslashes, control bytes, UTF-8).
TEST(ApiReply, RunStateTextIsTheTreesText) {
  RunState empty;
  EXPECT_EQ(Text(empty), ToJsonText(RunStateJson(empty)));
  RunState s;
  s.steps = 25;
  s.tokens = std::numeric_limits<uint64_t>::max();
  s.cost_micros = 1'234'567;
  s.elapsed_ms = 61'005;
  s.halted = true;
  s.halt_reason = "budget \"cost\" exceeded\n";
  s.records = {{"read_document", 3}, {"we\"ird\\tool\x01", 1}, {"\xc3\xa9t\xc3\xa9", 0}};
  EXPECT_EQ(Text(s), ToJsonText(RunStateJson(s)));
  for (int64_t micros : {0LL, 1LL, 20'000LL, 1'000'000LL, 999'999'999'999LL, -5LL}) {
    for (int64_t ms : {0LL, 1LL, 1'000LL, 86'400'000LL}) {
      RunState r;
      r.cost_micros = micros;
      r.elapsed_ms = ms;
      EXPECT_EQ(Text(r), ToJsonText(RunStateJson(r))) << micros << " " << ms;
    }
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::server
