// Revision names, the supported list and reading a request's revision from _meta.
#include "mcp/revision.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

json::object RequestWithMeta(json::object meta) {
  return json::object{{"jsonrpc", "2.0"},
                      {"id", 1},
                      {"method", "tools/list"},
                      {"params", json::object{{"_meta", std::move(meta)}}}};
}

// Tests that every revision name round-trips and that near-misses are not taken for one.
TEST(McpRevisionTest, NamesRoundTripAndNearMissesAreUnknown) {
  for (McpRevision r :
       {McpRevision::k2024_11_05, McpRevision::k2025_03_26, McpRevision::k2025_06_18,
        McpRevision::k2025_11_25, McpRevision::k2026_07_28}) {
    ASSERT_EQ(ParseRevision(RevisionName(r)), r) << RevisionName(r);
  }
  for (std::string_view bad : {"", "2026-07-28 ", " 2026-07-28", "2026-7-28", "2026-07-29",
                               "1900-01-01", "2026-07-28\n", "DRAFT-2026-v1"}) {
    EXPECT_FALSE(ParseRevision(bad).has_value()) << bad;
  }
  EXPECT_TRUE(IsModern(McpRevision::k2026_07_28));
  EXPECT_FALSE(IsModern(McpRevision::k2025_11_25));
}

// Tests that the advertised list is newest first and names 2026-07-28 and 2025-11-25.
TEST(McpRevisionTest, SupportedListIsNewestFirst) {
  json::array v = SupportedVersionsJson();
  ASSERT_GE(v.size(), 2u);
  EXPECT_EQ(v[0], "2026-07-28");
  EXPECT_EQ(v[1], "2025-11-25");
}

// Tests that a request's revision comes from _meta and that an unknown or mistyped version
// reads as legacy (never as modern), while MetaProtocolVersion still returns it to refuse.
TEST(McpRevisionTest, UnknownMetaVersionIsNeverTakenForModern) {
  EXPECT_EQ(ClientRevisionOf(RequestWithMeta({{std::string(kMetaProtocolVersion), "2026-07-28"}})),
            McpRevision::k2026_07_28);
  EXPECT_EQ(ClientRevisionOf(RequestWithMeta({{std::string(kMetaProtocolVersion), "2099-01-01"}})),
            McpRevision::k2025_11_25);
  EXPECT_EQ(ClientRevisionOf(RequestWithMeta({{std::string(kMetaProtocolVersion), 20260728}})),
            McpRevision::k2025_11_25);
  EXPECT_EQ(ClientRevisionOf(json::object{{"method", "tools/list"}}), McpRevision::k2025_11_25);
  EXPECT_EQ(ClientRevisionOf(json::object{{"params", "x"}}), McpRevision::k2025_11_25);
  EXPECT_EQ(
      MetaProtocolVersion(RequestWithMeta({{std::string(kMetaProtocolVersion), "2099-01-01"}})),
      "2099-01-01");
  EXPECT_FALSE(MetaProtocolVersion(RequestWithMeta({})).has_value());
}

// Tests that the client capabilities are read from _meta only when they are an object.
TEST(McpRevisionTest, ClientCapabilitiesComeFromMeta) {
  json::object caps{{"elicitation", json::object{{"form", json::object{}}}}};
  const json::object req = RequestWithMeta({{std::string(kMetaClientCapabilities), caps}});
  ASSERT_NE(MetaClientCapabilities(req), nullptr);
  EXPECT_EQ(*MetaClientCapabilities(req), caps);
  EXPECT_EQ(MetaClientCapabilities(RequestWithMeta({{std::string(kMetaClientCapabilities), 1}})),
            nullptr);
}

// Tests the UnsupportedProtocolVersion error's shape (code, supported, requested capped).
TEST(McpRevisionTest, UnsupportedVersionErrorListsTheSupportedVersions) {
  json::object e = UnsupportedVersionError(json::value(7), std::string(500, 'x'));
  EXPECT_EQ(e["id"], 7);
  const json::object& err = e["error"].get_object();
  EXPECT_EQ(err.at("code"), kUnsupportedProtocolVersion);
  EXPECT_EQ(err.at("data").at("supported"), SupportedVersionsJson());
  EXPECT_EQ(err.at("data").at("requested").get_string().size(), 64u);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
