// The outgoing-connection URL parser and Host header (src/outbound/http_endpoint.h) that
// the daemon client, url: upstreams, the reviewers' CLI and webhooks share.
#include "outbound/http_endpoint.h"

#include <gtest/gtest.h>

namespace interlock::outbound {
namespace INTERLOCK_TEST_NS {

// Tests the Host header: IPv6 literals in brackets, the scheme's default port left out.
TEST(HostHeaderTest, BracketsIpv6AndOmitsTheDefaultPort) {
  EXPECT_EQ(HostHeader("127.0.0.1", "8181", "80"), "127.0.0.1:8181");
  EXPECT_EQ(HostHeader("mcp.example", "443", "443"), "mcp.example");
  EXPECT_EQ(HostHeader("mcp.example", "80", "443"), "mcp.example:80");
  EXPECT_EQ(HostHeader("::1", "8181", "80"), "[::1]:8181");
  EXPECT_EQ(HostHeader("fe80::1", "443", "443"), "[fe80::1]");
}

// Tests the URL parser every outgoing client uses: defaults, IPv6, what it refuses.
TEST(HttpEndpointTest, ParsesHttpAndHttpsUrls) {
  auto a = ParseHttpEndpoint("https://mcp.example/v1/mcp?x=1");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->host, "mcp.example");
  EXPECT_EQ(a->port, "443");
  EXPECT_EQ(a->path, "/v1/mcp");
  EXPECT_TRUE(a->has_query);
  EXPECT_EQ(a->query, "x=1");
  auto b = ParseHttpEndpoint("http://[::1]:8181");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, "8181");
  EXPECT_EQ(b->path, "");
  auto c = ParseHttpEndpoint("http://127.0.0.1:/");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, "80");  // an empty port is the default
  auto d = ParseHttpEndpoint("https://u:p@h/#f");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->has_userinfo);
  EXPECT_TRUE(d->has_fragment);
  for (const char* bad : {"ftp://h/", "127.0.0.1:8181", "http:///x", "not a url"}) {
    EXPECT_FALSE(ParseHttpEndpoint(bad).ok()) << bad;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::outbound
