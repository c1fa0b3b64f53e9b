// Tests of the listener's address rules (common/host_name.h): which literals are loopback
// (plain gRPC and plain HTTP listen only there) and how HOST:PORT is read.
#include "common/host_name.h"

#include <gtest/gtest.h>

#include <string>

namespace interlock {
namespace INTERLOCK_TEST_NS {

// Tests loopback literals against their look-alikes: names (even "localhost"), other
// addresses, brackets, IPv4-mapped forms and literals that only start like 127.
TEST(HostNameTest, LoopbackLiteralsAndLookAlikes) {
  struct Case {
    const char* host;
    bool loopback;
  };
  const Case cases[] = {
      {"127.0.0.1", true},
      {"127.255.3.4", true},
      {"::1", true},
      {"0:0:0:0:0:0:0:1", true},
      {"::ffff:127.0.0.1", true},
      {"localhost", false},
      {"[::1]", false},
      {"127.0.0.1.evil", false},
      {"127.evil.com", false},
      {"128.0.0.1", false},
      {"10.0.0.1", false},
      {"0.0.0.0", false},
      {"::", false},
      {"::2", false},
      {"::ffff:10.0.0.1", false},
      {"::127.0.0.1", false},
      {"127.1", false},
      {"0127.0.0.1", false},
      {"", false},
      {"::1%lo", false},
  };
  for (const Case& c : cases) EXPECT_EQ(IsLoopbackLiteral(c.host), c.loopback) << c.host;
}

// Tests HOST:PORT as a listener reads it: brackets off an IPv6 host, an empty host or
// "localhost" as 127.0.0.1, and every malformed port refused with the rule in the error.
TEST(HostNameTest, ListenAddressesAndTheirErrors) {
  struct Good {
    const char* text;
    const char* host;
    uint16_t port;
  };
  const Good good[] = {{"127.0.0.1:8181", "127.0.0.1", 8181},
                       {"[::1]:0", "::1", 0},
                       {":9191", "127.0.0.1", 9191},
                       {"localhost:1", "127.0.0.1", 1},
                       {"0.0.0.0:65535", "0.0.0.0", 65535}};
  for (const Good& g : good) {
    Result<ListenAddress> at = ParseListenAddress(g.text);
    ASSERT_TRUE(at.ok()) << g.text << ": " << at.error().message;
    EXPECT_EQ(at->host, g.host) << g.text;
    EXPECT_EQ(at->port, g.port) << g.text;
  }
  struct Bad {
    const char* text;
    const char* says;
  };
  const Bad bad[] = {{"nowhere", "HOST:PORT"},        {"127.0.0.1:", "0..65535"},
                     {"127.0.0.1:65536", "0..65535"}, {"127.0.0.1:80x", "0..65535"},
                     {"127.0.0.1:-1", "0..65535"},    {"127.0.0.1: 80", "0..65535"},
                     {"127.0.0.1:+80", "0..65535"}};
  for (const Bad& b : bad) {
    Result<ListenAddress> at = ParseListenAddress(b.text);
    ASSERT_FALSE(at.ok()) << b.text;
    EXPECT_NE(at.error().message.find(b.says), std::string::npos) << at.error().message;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
