// Tests the query parsing of the API's routes (server::DescribeRoute, what Api::Handle
// dispatches on), table-driven: every malformed, out-of-range, unknown or repeated
// parameter is a 400 reason, never a value read one way here and another elsewhere.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "server/api.h"

namespace interlock::server {
namespace {

struct QueryCase {
  const char* target;
  bool bad;  // a 400 with a reason
};

TEST(RouteQuery, EachMalformedOrRepeatedParameterIsRefused) {
  const std::vector<QueryCase> cases = {
      {"/v1/audit?limit=50", false},
      {"/v1/audit?limit=0", true},
      {"/v1/audit?limit=50x", true},
      {"/v1/audit?limit=", true},
      {"/v1/audit?limit=+5", true},
      {"/v1/audit?limit=99999999999999999999999", true},
      {"/v1/audit?before_seq=1&order=desc", false},
      {"/v1/audit?before_seq=0", true},
      {"/v1/audit?after_seq=-1", true},
      {"/v1/audit?tool=send&code=ALLOWED", false},
      {"/v1/audit?tool=send&tool=delete", true},    // which tool would be searched?
      {"/v1/audit?tool=send&to%6Fl=delete", true},  // the same key, encoded
      {"/v1/audit?order=up", true},
      {"/v1/audit?format=xml", true},
      {"/v1/audit?colour=red", true},
      {"/v1/runs?limit=1000", false},
      {"/v1/runs?limit=1001", true},
      {"/v1/runs?limit=10&limit=1000", true},
      {"/v1/runs?state=active&state=ended", true},
      {"/v1/approvals?limit=5", false},
      {"/v1/approvals?limit=5.0", true},
      {"/v1/approvals?state=all&state=pending", true},
      {"/v1/calls/call-1?wait=5", false},
      {"/v1/calls/call-1?wait=5&wait=0", true},
      {"/v1/calls/call-1?wait=-1", true},
  };
  for (const QueryCase& c : cases) {
    const RouteInfo info = DescribeRoute(c.target);
    EXPECT_EQ(!info.bad_query.empty(), c.bad) << c.target << ": " << info.bad_query;
  }
}

}  // namespace
}  // namespace interlock::server
