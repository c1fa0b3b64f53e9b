// Tests that egress allowlists load strictly (errors at file:line:column), that address
// classification refuses every internal range unless an entry names the address
// literally (SSRF, DNS rebinding), and that matching is exact on names, suffixes and
// ports. No traffic: pure functions only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "policy/egress.h"
#include "policy/loader.h"
#include "policy_text.h"

namespace interlock::policy {
namespace INTERLOCK_TEST_NS {

using ::testing::HasSubstr;

using ::interlock::testing::MustParsePolicy;
using ::interlock::testing::PolicyDiagnostics;

IpAddress Ip(std::string_view s) {
  auto a = ParseIpLiteral(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(IpAddress{});
}

AddressClass Class(std::string_view s) { return ClassifyAddress(Ip(s)); }

EgressPolicy Allow(std::vector<std::string> entries) {
  EgressPolicy p;
  p.present = true;
  for (const std::string& e : entries) {
    std::string why;
    auto r = ParseEgressRule(e, &why);
    EXPECT_TRUE(r.has_value()) << e << ": " << why;
    if (r) p.allow.push_back(*r);
  }
  return p;
}

// Tests that an egress key loads each entry form.
TEST(EgressLoader, LoadsNamesSuffixesAddressesAndPorts) {
  auto p = MustParsePolicy(R"(agent: {id: a}
tools: {allowed: [x]}
egress:
  allow: ["API.github.com:443", "*.internal.myco.com:443", "127.0.0.1:8080", "[::1]:*"]
)");
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->egress.present);
  ASSERT_EQ(p->egress.allow.size(), 4u);
  EXPECT_EQ(p->egress.allow[0].host, "api.github.com");
  EXPECT_EQ(p->egress.allow[0].port, 443);
  EXPECT_EQ(p->egress.allow[1].kind, EgressRule::Kind::kSuffix);
  EXPECT_EQ(p->egress.allow[1].host, ".internal.myco.com");
  EXPECT_EQ(p->egress.allow[2].kind, EgressRule::Kind::kAddress);
  EXPECT_EQ(p->egress.allow[3].host, "::1");
  EXPECT_FALSE(p->egress.allow[3].port.has_value());
  EXPECT_EQ(p->egress_at.ToString(), "p.yaml:3:1");
}

// Tests that a policy without the key has no egress at all.
TEST(EgressLoader, AbsentKeyMeansNoEgress) {
  auto p = MustParsePolicy("agent: {id: a}\ntools: {allowed: [x]}\n");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->egress.present);
  EXPECT_FALSE(MatchEgress(p->egress, "example.com", 443, Ip("93.184.216.34"), false).allowed);
}

// Tests that malformed entries are errors with their position, never silently dropped
// (a dropped entry is harmless, but a misread one could allow too much).
TEST(EgressLoader, MalformedEntriesAreErrorsWithPosition) {
  EXPECT_THAT(PolicyDiagnostics(
                  "agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [\"api.github.com\"]}\n"),
              HasSubstr("p.yaml:3:18: error: egress.allow[0]"));
  EXPECT_THAT(
      PolicyDiagnostics("agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [\"*:443\"]}\n"),
      HasSubstr("bare '*'"));
  EXPECT_THAT(PolicyDiagnostics(
                  "agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [\"*.com:443\"]}\n"),
              HasSubstr("top-level domain"));
  EXPECT_THAT(PolicyDiagnostics(
                  "agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [\"a.*.com:443\"]}\n"),
              HasSubstr("invalid-egress"));
  EXPECT_THAT(
      PolicyDiagnostics("agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [\"::1:443\"]}\n"),
      HasSubstr("brackets"));
  EXPECT_THAT(
      PolicyDiagnostics("agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [\"a.com:0\"]}\n"),
      HasSubstr("1-65535"));
  EXPECT_THAT(PolicyDiagnostics(
                  "agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [\"a.com:65536\"]}\n"),
              HasSubstr("1-65535"));
  EXPECT_THAT(PolicyDiagnostics(
                  "agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [\"a.com:44x\"]}\n"),
              HasSubstr("1-65535"));
  EXPECT_THAT(PolicyDiagnostics(
                  "agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [a.com:1, a.com:1]}\n"),
              HasSubstr("duplicate-egress"));
  EXPECT_THAT(PolicyDiagnostics("agent: {id: a}\ntools: {allowed: [x]}\negress: {alow: []}\n"),
              HasSubstr("unknown key 'alow'"));
  EXPECT_THAT(PolicyDiagnostics("agent: {id: a}\ntools: {allowed: [x]}\negress: {}\n"),
              HasSubstr("missing required key 'allow'"));
  EXPECT_THAT(
      PolicyDiagnostics("agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: \"a.com:1\"}\n"),
      HasSubstr("expected a list"));
  EXPECT_THAT(PolicyDiagnostics("agent: {id: a}\ntools: {allowed: [x]}\negress: {allow: [[1]]}\n"),
              HasSubstr("expected a string"));
}

// Tests the classification of every internal range the proxy must refuse by default.
TEST(AddressClassification, InternalRangesAreNotPublic) {
  EXPECT_EQ(Class("127.0.0.1"), AddressClass::kLoopback);
  EXPECT_EQ(Class("127.255.0.9"), AddressClass::kLoopback);
  EXPECT_EQ(Class("::1"), AddressClass::kLoopback);
  EXPECT_EQ(Class("10.1.2.3"), AddressClass::kPrivate);
  EXPECT_EQ(Class("172.16.0.1"), AddressClass::kPrivate);
  EXPECT_EQ(Class("172.31.255.255"), AddressClass::kPrivate);
  EXPECT_EQ(Class("172.32.0.1"), AddressClass::kPublic);
  EXPECT_EQ(Class("192.168.1.1"), AddressClass::kPrivate);
  EXPECT_EQ(Class("fc00::1"), AddressClass::kPrivate);
  EXPECT_EQ(Class("fdff::1"), AddressClass::kPrivate);
  EXPECT_EQ(Class("169.254.0.1"), AddressClass::kLinkLocal);
  EXPECT_EQ(Class("fe80::1"), AddressClass::kLinkLocal);
  EXPECT_EQ(Class("febf::1"), AddressClass::kLinkLocal);
  EXPECT_EQ(Class("169.254.169.254"), AddressClass::kMetadata);
  EXPECT_EQ(Class("fd00:ec2::254"), AddressClass::kMetadata);
  EXPECT_EQ(Class("100.64.0.1"), AddressClass::kSharedCgnat);
  EXPECT_EQ(Class("100.127.255.255"), AddressClass::kSharedCgnat);
  EXPECT_EQ(Class("100.128.0.1"), AddressClass::kPublic);
  EXPECT_EQ(Class("0.0.0.0"), AddressClass::kUnspecified);
  EXPECT_EQ(Class("0.1.2.3"), AddressClass::kUnspecified);
  EXPECT_EQ(Class("::"), AddressClass::kUnspecified);
  EXPECT_EQ(Class("224.0.0.1"), AddressClass::kMulticast);
  EXPECT_EQ(Class("ff02::1"), AddressClass::kMulticast);
  EXPECT_EQ(Class("255.255.255.255"), AddressClass::kReserved);
  EXPECT_EQ(Class("192.0.2.1"), AddressClass::kReserved);
  EXPECT_EQ(Class("2001:db8::1"), AddressClass::kReserved);
  EXPECT_EQ(Class("::ffff:127.0.0.1"), AddressClass::kIpv4Mapped);
  EXPECT_EQ(Class("::ffff:8.8.8.8"), AddressClass::kIpv4Mapped);
  EXPECT_EQ(Class("::127.0.0.1"), AddressClass::kReserved);
  EXPECT_EQ(Class("64:ff9b::a9fe:a9fe"), AddressClass::kIpv4Embedded);
  EXPECT_EQ(Class("2002:a9fe:a9fe::1"), AddressClass::kIpv4Embedded);
  EXPECT_EQ(Class("8.8.8.8"), AddressClass::kPublic);
  EXPECT_EQ(Class("2606:4700::1111"), AddressClass::kPublic);
}

// Tests that odd spellings of addresses are not IP literals (inet_aton forms that a
// resolver might still read as 127.0.0.1).
TEST(AddressClassification, OddSpellingsAreNotLiterals) {
  EXPECT_FALSE(ParseIpLiteral("127.1").has_value());
  EXPECT_FALSE(ParseIpLiteral("0x7f.0.0.1").has_value());
  EXPECT_FALSE(ParseIpLiteral("2130706433").has_value());
  EXPECT_FALSE(ParseIpLiteral("fe80::1%eth0").has_value());
  EXPECT_FALSE(NormalizeHostName("127.1").has_value());
  EXPECT_FALSE(NormalizeHostName("2130706433").has_value());
  EXPECT_FALSE(NormalizeHostName("0x7f.1").has_value());
  EXPECT_FALSE(NormalizeHostName("a..b").has_value());
  EXPECT_FALSE(NormalizeHostName("a b").has_value());
  EXPECT_FALSE(NormalizeHostName("").has_value());
  EXPECT_EQ(NormalizeHostName("API.GitHub.com."), "api.github.com");
  EXPECT_EQ(NormalizeHostName("[::FFFF:7f00:1]"), "::ffff:127.0.0.1");
}

// Tests that an allowed public name resolving to the metadata address is refused (DNS
// rebinding / SSRF): the decision is on the address connected to.
TEST(EgressMatch, AllowedNameResolvingToMetadataIsRefused) {
  EgressPolicy p = Allow({"api.example.com:443"});
  EXPECT_TRUE(MatchEgress(p, "api.example.com", 443, Ip("93.184.216.34"), false).allowed);
  EgressMatch m = MatchEgress(p, "api.example.com", 443, Ip("169.254.169.254"), false);
  EXPECT_FALSE(m.allowed);
  EXPECT_THAT(m.reason, HasSubstr("cloud metadata"));
  EXPECT_FALSE(MatchEgress(p, "api.example.com", 443, Ip("10.0.0.5"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "api.example.com", 443, Ip("::ffff:10.0.0.5"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "api.example.com", 443, Ip("::1"), false).allowed);
}

// Tests that a wildcard covers subdomains only: not the apex, not look-alike suffixes.
TEST(EgressMatch, SuffixWildcardIsLabelAligned) {
  EgressPolicy p = Allow({"*.myco.com:443"});
  EXPECT_TRUE(MatchEgress(p, "a.myco.com", 443, Ip("8.8.8.8"), false).allowed);
  EXPECT_TRUE(MatchEgress(p, "a.b.myco.com", 443, Ip("8.8.8.8"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "myco.com", 443, Ip("8.8.8.8"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "evilmyco.com", 443, Ip("8.8.8.8"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "a.myco.com.evil.net", 443, Ip("8.8.8.8"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "a.myco.com", 80, Ip("8.8.8.8"), false).allowed);
}

// Tests that an entry naming an internal address literally is the one way to reach it,
// and only on its port.
TEST(EgressMatch, LiteralAddressEntryAllowsInternalAddress) {
  EgressPolicy p = Allow({"127.0.0.1:8080", "[fd00:ec2::254]:80"});
  EXPECT_TRUE(MatchEgress(p, "127.0.0.1", 8080, Ip("127.0.0.1"), false).allowed);
  EXPECT_TRUE(MatchEgress(p, "localhost", 8080, Ip("127.0.0.1"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "127.0.0.1", 8081, Ip("127.0.0.1"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "127.0.0.2", 8080, Ip("127.0.0.2"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "::ffff:127.0.0.1", 8080, Ip("::ffff:127.0.0.1"), false).allowed);
  EXPECT_TRUE(MatchEgress(p, "fd00:ec2::254", 80, Ip("fd00:ec2::254"), false).allowed);
}

// Tests that a name entry matches only that name, case-insensitively via normalisation.
TEST(EgressMatch, NameEntryIsExact) {
  EgressPolicy p = Allow({"Api.GitHub.com:*"});
  EXPECT_TRUE(MatchEgress(p, "api.github.com", 1, Ip("8.8.8.8"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "api.github.com.evil.net", 443, Ip("8.8.8.8"), false).allowed);
  EXPECT_FALSE(MatchEgress(p, "x.api.github.com", 443, Ip("8.8.8.8"), false).allowed);
  EXPECT_FALSE(
      MatchEgress(EgressPolicy{true, {}}, "api.github.com", 443, Ip("8.8.8.8"), false).allowed);
}

// Tests that CONNECT (a raw tunnel) through an entry that does not say otherwise reaches only
// port 443: a tunnel to an allowed plain-HTTP port would carry any Host and any pipelined
// request to the virtual hosts behind that address. `tunnel: true` allows tunnels to every
// port of its entry, `tunnel: false` to none; absolute-form requests are unaffected.
TEST(EgressMatch, ConnectToAllowedPlainHttpPortIsRefused) {
  auto p = MustParsePolicy(R"(agent: {id: a}
tools: {allowed: [x]}
egress:
  allow:
    - "shared.example.com:80"
    - "shared.example.com:443"
    - {to: "db.example.com:*", tunnel: true}
    - {to: "nohttps.example.com:443", tunnel: false}
)");
  ASSERT_NE(p, nullptr);
  const IpAddress pub = Ip("93.184.216.34");
  EXPECT_TRUE(MatchEgress(p->egress, "shared.example.com", 80, pub, false).allowed);
  EgressMatch m = MatchEgress(p->egress, "shared.example.com", 80, pub, true);
  EXPECT_FALSE(m.allowed);
  EXPECT_THAT(m.reason, HasSubstr("CONNECT"));
  EXPECT_THAT(m.reason, HasSubstr("tunnel: true"));
  EXPECT_TRUE(MatchEgress(p->egress, "shared.example.com", 443, pub, true).allowed);
  EXPECT_TRUE(MatchEgress(p->egress, "db.example.com", 5432, pub, true).allowed);
  EXPECT_TRUE(MatchEgress(p->egress, "db.example.com", 80, pub, true).allowed);
  EXPECT_TRUE(MatchEgress(p->egress, "nohttps.example.com", 443, pub, false).allowed);
  m = MatchEgress(p->egress, "nohttps.example.com", 443, pub, true);
  EXPECT_FALSE(m.allowed);
  EXPECT_THAT(m.reason, HasSubstr("tunnel: false"));
  // A port wildcard without `tunnel` still tunnels to 443 only.
  EgressPolicy any = Allow({"127.0.0.1:*"});
  EXPECT_TRUE(MatchEgress(any, "127.0.0.1", 443, Ip("127.0.0.1"), true).allowed);
  EXPECT_FALSE(MatchEgress(any, "127.0.0.1", 8080, Ip("127.0.0.1"), true).allowed);
  EXPECT_TRUE(MatchEgress(any, "127.0.0.1", 8080, Ip("127.0.0.1"), false).allowed);
}

// Tests that the mapping form of an entry loads strictly, with file:line:column errors:
// `to` required, `tunnel` a boolean, no other key, `to` checked like a plain entry, and a
// duplicate across both forms found.
TEST(EgressLoader, TunnelEntriesLoadStrictly) {
  auto p = MustParsePolicy(
      "agent: {id: a}\ntools: {allowed: [x]}\negress:\n  allow:\n"
      "    - {to: \"a.com:8443\", tunnel: true}\n    - {to: \"b.com:443\"}\n    - c.com:80\n");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->egress.allow.size(), 3u);
  EXPECT_EQ(p->egress.allow[0].text, "a.com:8443");
  EXPECT_EQ(p->egress.allow[0].tunnel, std::optional<bool>(true));
  EXPECT_FALSE(p->egress.allow[1].tunnel.has_value());
  EXPECT_FALSE(p->egress.allow[2].tunnel.has_value());
  const std::string head = "agent: {id: a}\ntools: {allowed: [x]}\negress:\n  allow:\n";
  EXPECT_THAT(PolicyDiagnostics(head + "    - {tunnel: true}\n"),
              HasSubstr("p.yaml:5:7: error: egress.allow[0]: missing required key 'to'"));
  EXPECT_THAT(PolicyDiagnostics(head + "    - {to: \"a.com:1\", tunnel: yes}\n"),
              HasSubstr("p.yaml:5:31: error: egress.allow[0].tunnel: expected true or false"));
  EXPECT_THAT(PolicyDiagnostics(head + "    - {to: \"a.com:1\", tunnels: true}\n"),
              HasSubstr("unknown key 'tunnels'"));
  EXPECT_THAT(PolicyDiagnostics(head + "    - {to: \"a.com\", tunnel: true}\n"),
              HasSubstr("p.yaml:5:12: error: egress.allow[0].to: \"a.com\""));
  EXPECT_THAT(PolicyDiagnostics(head + "    - a.com:1\n    - {to: \"a.com:1\", tunnel: true}\n"),
              HasSubstr("duplicate-egress"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policy
