// Tests the query parsing of the API's routes (server::DescribeRoute, what Api::Handle
// dispatches on), table-driven: every malformed, out-of-range, unknown or repeated
// parameter is a 400 reason, never a value read one way here and another elsewhere.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "doors/http_api/api.h"

namespace interlock::server {
namespace INTERLOCK_TEST_NS {

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

// Tests that the router matches a path by its decoded segments and whole patterns only:
// an escaped id is the id it spells, an escape that decodes to a byte no id has is a bad
// id, and a target longer than any route, "/ui/" and paths off the table match as they did
// before the patterns were split once (session 19).
TEST(RouteMatch, SegmentsMatchDecodedAndOnlyWholePatterns) {
  const RouteInfo plain = DescribeRoute("/v1/runs/run_abc/calls");
  EXPECT_NE(plain.route, 0);
  EXPECT_EQ(plain.id, "run_abc");
  EXPECT_FALSE(plain.bad_id);
  const RouteInfo escaped = DescribeRoute("/v1/runs/run%5Fabc/calls");
  EXPECT_EQ(escaped.route, plain.route);
  EXPECT_EQ(escaped.id, "run_abc");
  EXPECT_FALSE(escaped.bad_id);
  const RouteInfo slash = DescribeRoute("/v1/runs/a%2Fb/calls");
  EXPECT_EQ(slash.route, plain.route);
  EXPECT_EQ(slash.id, "a/b");
  EXPECT_TRUE(slash.bad_id);
  // The id bound is the pattern's placeholder, wherever the literal segments are.
  EXPECT_EQ(DescribeRoute("/v1/calls/call_1/result").id, "call_1");
  EXPECT_EQ(DescribeRoute("/v1/runs/run_1/grants/revoke").id, "run_1");
  // Not on the table: a literal segment off by one, a segment too many or too few, a
  // target far longer than any pattern.
  EXPECT_EQ(DescribeRoute("/v1/runs/run_1/call").route, 0);
  EXPECT_EQ(DescribeRoute("/v1/runs/run_1/calls/x").route, 0);
  EXPECT_EQ(DescribeRoute("/v1/runs/run_1/grants").route, 0);
  EXPECT_EQ(DescribeRoute("/a/b/c/d/e/f/g/h/i/j/k/l").route, 0);
  EXPECT_EQ(DescribeRoute("/v1/runs/run_1/calls/a/b/c/d/e/f/g/h").route, 0);
  EXPECT_EQ(DescribeRoute("not a path").route, 0);
  // "/ui/" is the page, as "/ui" is; a page under a run is the asset "runs/{id}".
  EXPECT_NE(DescribeRoute("/ui").route, 0);
  EXPECT_EQ(DescribeRoute("/ui/").route, DescribeRoute("/ui").route);
  EXPECT_EQ(DescribeRoute("/ui/runs/run_1").id, "runs/run_1");
  EXPECT_EQ(DescribeRoute("/v1/governance/drift").id, "drift");
  EXPECT_EQ(DescribeRoute("/healthz").id, "");
}

// Tests that a target the router matches without the URL parser (plain segments, no
// query) gets the route, id and id check the parser's path gives it: every route of the
// table with ids of each allowed character, and the shapes the plain path leaves to the
// parser (empty and dot segments, escapes, too many segments). A trailing '?' sends the
// same path through the parser.
TEST(RouteMatch, PlainTargetsMatchAsParsed) {
  std::vector<std::string> targets = {"/healthz",
                                      "/",
                                      "//",
                                      "/v1//runs",
                                      "/v1/runs/",
                                      "/./v1/kill",
                                      "/v1/./kill",
                                      "/v1/../v1/kill",
                                      "/v1/runs/%41/calls",
                                      "/a/b/c/d/e/f/g/h/i",
                                      "/v1/runs/a+b/calls",
                                      "/v1/runs/a!b/calls"};
  for (const ApiRoute& route : ApiRoutes()) {
    for (const char* id : {"run_abc", "a.b:c@d~e-1", "x", ".", "..", "A-Z_09", "a@b"}) {
      std::string t(route.path);
      for (size_t open = t.find('{'); open != std::string::npos; open = t.find('{')) {
        t.replace(open, t.find('}', open) - open + 1, id);
      }
      targets.push_back(t);
    }
  }
  for (const std::string& t : targets) {
    const RouteInfo plain = DescribeRoute(t);
    const RouteInfo parsed = DescribeRoute(t + "?");
    EXPECT_EQ(plain.route, parsed.route) << t;
    EXPECT_EQ(plain.id, parsed.id) << t;
    EXPECT_EQ(plain.bad_id, parsed.bad_id) << t;
  }
  EXPECT_NE(DescribeRoute("/v1/runs/run_abc/calls").route, 0);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::server
