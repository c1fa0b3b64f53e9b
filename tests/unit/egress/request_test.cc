// Tests that the egress proxy's request parser accepts exactly the two proxy forms and
// refuses everything that could smuggle a destination or a second request past the
// decision.
#include "doors/egress/request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace interlock::egress {
namespace INTERLOCK_TEST_NS {

using ::testing::HasSubstr;

Result<ProxyRequest> Parse(std::string head) { return ParseProxyRequest(head); }

// Tests the CONNECT form, names normalised and IPv6 in brackets.
TEST(ProxyRequest, ParsesConnect) {
  auto r = Parse("CONNECT API.Example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->connect);
  EXPECT_EQ(r->host, "api.example.com");
  EXPECT_EQ(r->port, 443);
  r = Parse("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->host, "::1");
}

// Tests the absolute form: default port, origin-form path, upstream head.
TEST(ProxyRequest, ParsesAbsoluteForm) {
  auto r = Parse(
      "GET http://127.0.0.1:8080/a?b=1 HTTP/1.1\r\nHost: evil.example\r\n"
      "Proxy-Authorization: x\r\nAccept: */*\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->connect);
  EXPECT_EQ(r->host, "127.0.0.1");
  EXPECT_EQ(r->port, 8080);
  EXPECT_EQ(r->path, "/a?b=1");
  EXPECT_EQ(
      UpstreamHead(*r),
      "GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n");
  r = Parse("GET http://example.com HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->port, 80);
  EXPECT_EQ(r->path, "/");
}

// Tests that a client's Host header cannot point the request at another virtual host
// than the one decided on (domain fronting).
TEST(ProxyRequest, HostHeaderIsReplacedByTheDecidedAuthority) {
  auto r = Parse("GET http://a.example.com/ HTTP/1.1\r\nHost: b.example.com\r\n\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(UpstreamHead(*r), HasSubstr("Host: a.example.com\r\n"));
  EXPECT_THAT(UpstreamHead(*r), ::testing::Not(HasSubstr("b.example.com")));
}

// Tests that malformed or ambiguous heads are refused (the proxy answers 400).
TEST(ProxyRequest, RefusesMalformedAndAmbiguousHeads) {
  for (const char* bad : {
           "",
           "\r\n\r\n",
           "GET / HTTP/1.1\r\n\r\n",               // origin form: not a proxy request
           "GET https://a.com/ HTTP/1.1\r\n\r\n",  // TLS goes through CONNECT
           "GET ftp://a.com/ HTTP/1.1\r\n\r\n",
           "CONNECT a.com HTTP/1.1\r\n\r\n",  // no port
           "CONNECT a.com:0 HTTP/1.1\r\n\r\n",
           "CONNECT a.com:65536 HTTP/1.1\r\n\r\n",
           "CONNECT a.com:44x HTTP/1.1\r\n\r\n",
           "CONNECT 127.1:80 HTTP/1.1\r\n\r\n",  // inet_aton spelling
           "CONNECT 2130706433:80 HTTP/1.1\r\n\r\n",
           "CONNECT [::1:80 HTTP/1.1\r\n\r\n",
           "GET http://user:pw@a.com/ HTTP/1.1\r\n\r\n",  // credentials
           "GET http://a.com/#f HTTP/1.1\r\n\r\n",
           "GET http://a.com/ HTTP/2\r\n\r\n",
           "get http://a.com/ HTTP/1.1\r\n\r\n",
           "GET  http://a.com/ HTTP/1.1\r\n\r\n",
           "GET http://a.com/ HTTP/1.1\r\n folded: x\r\n\r\n",
           "GET http://a.com/ HTTP/1.1\r\nBad Name: x\r\n\r\n",
           "GET http://a.com/ HTTP/1.1\r\nA: x\ny\r\n\r\n",  // bare LF
           "GET http://a.com/ HTTP/1.1\r\nA: x\ry\r\n\r\n",  // bare CR
           "GET http://a.com/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "GET http://a.com/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           // the proxy forwards one request per connection: it must know where a body ends
           "POST http://a.com/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST http://a.com/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
           "POST http://a.com/ HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
           "POST http://a.com/ HTTP/1.1\r\nContent-Length: 1234567890123456\r\n\r\n",
           "GET http://a.com\x01/ HTTP/1.1\r\n\r\n",
           "GET http://a_b.com/ HTTP/1.1\r\n\r\n",
       }) {
    EXPECT_FALSE(Parse(bad).ok()) << bad;
  }
}

// Tests the header count and size limits.
TEST(ProxyRequest, EnforcesLimits) {
  std::string many = "GET http://a.com/ HTTP/1.1\r\n";
  for (size_t i = 0; i <= kMaxHeaders; ++i) many += "A" + std::to_string(i) + ": x\r\n";
  EXPECT_FALSE(Parse(many + "\r\n").ok());
  std::string big =
      "GET http://a.com/ HTTP/1.1\r\nA: " + std::string(kMaxHeadBytes, 'x') + "\r\n\r\n";
  EXPECT_FALSE(Parse(big).ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::egress
