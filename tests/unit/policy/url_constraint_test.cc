// URL constraints: a table of URL tricks that must not pass, the normal forms the parser
// produces, and the WebFetch allow-list of the claude-code example policy.
#include "policy/url_constraint.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace interlock::policy {
namespace INTERLOCK_TEST_NS {

std::shared_ptr<const UrlMatcher> Compile(const std::vector<std::string>& prefixes,
                                          std::vector<UrlRule> extra = {}) {
  UrlRules rules;
  for (const auto& p : prefixes) {
    std::string why;
    auto r = ParseUrlPrefix(p, &why);
    EXPECT_TRUE(r.has_value()) << p << ": " << why;
    if (r) rules.allow.push_back(*r);
  }
  for (auto& r : extra) {
    EXPECT_EQ(ValidateUrlRule(r), std::nullopt);
    rules.allow.push_back(std::move(r));
  }
  return CompileUrlRules(rules);
}

// The WebFetch rules of examples/policies/claude-code.yaml.
std::shared_ptr<const UrlMatcher> DocsMatcher() {
  return Compile({"https://docs.python.org/", "https://developer.mozilla.org/"});
}

struct Case {
  const char* url;
  const char* why_contains;  // a fragment of the reason
};

class UrlTrickTest : public ::testing::TestWithParam<Case> {};

TEST_P(UrlTrickTest, IsRefusedWithAReason) {
  auto m = DocsMatcher();
  std::string why;
  EXPECT_FALSE(CheckUrl(*m, GetParam().url, &why)) << GetParam().url;
  EXPECT_NE(why.find(GetParam().why_contains), std::string::npos)
      << GetParam().url << " -> " << why;
}

INSTANTIATE_TEST_SUITE_P(
    UrlConstraint, UrlTrickTest,
    ::testing::Values(
        // userinfo and '@'
        Case{"https://docs.python.org@evil.com/", "userinfo"},
        Case{"https://user:pw@docs.python.org/", "userinfo"},
        Case{"https://docs.python.org:443@evil.com/", "userinfo"},
        Case{"https://evil.com#@docs.python.org/", "host evil.com is not allowed"},
        Case{"https://evil.com?@docs.python.org/", "host evil.com is not allowed"},
        Case{"https://docs.python.org.evil.com/", "host docs.python.org.evil.com"},
        Case{"https://evildocs.python.org/", "host evildocs.python.org"},
        // backslashes (browsers read them as '/': https://evil.com\@docs.python.org)
        Case{"https://evil.com\\@docs.python.org/", "backslash"},
        Case{"https://docs.python.org\\.evil.com/", "backslash"},
        Case{"https://docs.python.org/3/..\\..\\x", "backslash"},
        // encoded slashes and dots in the host
        Case{"https://docs.python.org%2F.evil.com/", "forbidden character"},
        Case{"https://evil%2ecom/", "host evil.com is not allowed"},
        Case{"https://docs.python.org%00.evil.com/", "percent-encoded control"},
        Case{"https://docs.python.org%zz/", "invalid percent-encoding"},
        // IP literals in every IPv4 form, and IPv6
        Case{"http://2130706433/", "scheme http is not allowed"},
        Case{"https://2130706433/", "host 127.0.0.1 is not allowed"},
        Case{"https://0x7f.1/", "host 127.0.0.1 is not allowed"},
        Case{"https://0177.0.0.1/", "host 127.0.0.1 is not allowed"},
        Case{"https://127.1/", "host 127.0.0.1 is not allowed"},
        Case{"https://0x7f000001/", "host 127.0.0.1 is not allowed"},
        Case{"https://169.254.169.254/latest/meta-data/", "host 169.254.169.254"},
        Case{"https://1.2.3.256/", "not a valid IPv4 address"},
        Case{"https://docs.python.4/", "not a valid IPv4 address"},
        Case{"https://[::1]/", "host [::1] is not allowed"},
        Case{"https://[0:0:0:0:0:ffff:7f00:1]/", "host [::ffff:7f00:1]"},
        Case{"https://[::ffff:127.0.0.1]/", "host [::ffff:7f00:1]"},
        Case{"https://[fe80::1%25eth0]/", "IPv6 literal"}, Case{"https://[::1/", "not closed"},
        Case{"https://[::1]x/", "after the IPv6 literal"},
        // IDNA homographs: Cyrillic o (U+043E) and a in the host
        Case{"https://d\xD0\xBE"
             "cs.python.org/",
             "mixes scripts"},
        Case{"https://developer.mozill\xD0\xB0.org/", "mixes scripts"},
        Case{"https://xn--zz.python.org/", "internationalised"},
        Case{"https://a\xE2\x80\x8D"
             "b.python.org/",
             "internationalised"},  // ZWJ
        Case{"https://\xFF.python.org/", "internationalised"},
        // ports
        Case{"https://docs.python.org:8443/", "port 8443 is not allowed"},
        Case{"https://docs.python.org:80/", "port 80 is not allowed"},
        Case{"https://docs.python.org:/", "is not a number"},
        Case{"https://docs.python.org:0/", "is not a number"},
        Case{"https://docs.python.org:65536/", "is not a number"},
        Case{"https://docs.python.org:44a/", "is not a number"},
        // schemes
        Case{"http://docs.python.org/", "scheme http is not allowed"},
        Case{"javascript:alert(1)//docs.python.org/", "no authority"},
        Case{"javascript://docs.python.org/alert(1)", "scheme javascript"},
        Case{"javascript://docs.python.org/%0aalert(1)", "encoded control"},
        Case{"file:///etc/passwd", "host is empty"},
        Case{"data:text/html,<script>", "no authority"},
        Case{"ftp://docs.python.org/", "scheme ftp"}, Case{"//docs.python.org/3/", "no scheme"},
        Case{"/3/library/", "no scheme"}, Case{"docs.python.org/3/", "no scheme"},
        Case{"https:docs.python.org/", "no authority"},
        Case{"https:/docs.python.org/", "no authority"},
        Case{"https:///docs.python.org/", "host is empty"},
        Case{"1https://docs.python.org/", "no scheme"},
        Case{"ht~tps://docs.python.org/", "not allowed in a scheme"},
        // whitespace and control characters anywhere
        Case{" https://docs.python.org/", "whitespace"},
        Case{"https://docs.python.org/ ", "whitespace"},
        Case{"https://docs.python.org\t.evil.com/", "whitespace"},
        Case{"https://docs.python.org/\n", "whitespace"},
        Case{"https://docs.python.org\r\n.evil.com/", "whitespace"},
        Case{"https://docs.python.org/\x7f", "whitespace"},
        // empty and malformed hosts
        Case{"https:///", "host is empty"}, Case{"https://:443/", "host is empty"},
        Case{"https://docs..python.org/", "empty label"},
        Case{"https://docs.python.org../", "empty label"},
        Case{"https://.docs.python.org/", "empty label"},
        Case{"https://docs.python.org*/", "forbidden character"},
        Case{"https://docs.python.org!/", "not allowed in a host name"},
        // paths: dot segments, encoded dots and slashes, parameters
        Case{"https://docs.python.org/3%2F..%2F..%2Fx", "encoded slash"},
        Case{"https://docs.python.org/3%5c..", "encoded slash"},
        Case{"https://docs.python.org/3/%", "invalid percent-encoding"},
        Case{"https://docs.python.org/3/%G0", "invalid percent-encoding"},
        Case{"https://docs.python.org/3/%00", "encoded control"},
        Case{"https://docs.python.org/3/..;/admin", "dot segment with parameters"},
        Case{"https://docs.python.org/3/%252e%252e/x", "double-encoded"},
        Case{"https://docs.python.org/3%252F..%252Fx", "double-encoded"},
        Case{"https://docs.python.org/3/%25%32e%25%32e/x", "double-encoded"},
        Case{"https://docs.python.org/?%zz", "invalid percent-encoding"},
        Case{"https://docs.python.org/#%", "invalid percent-encoding"},
        // empty and over-long input
        Case{"", "empty"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      // "12_userinfo": the index and what the refusal is about.
      std::string name = std::to_string(info.index) + "_";
      for (const char* p = info.param.why_contains; *p != '\0'; ++p) {
        name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
      }
      return name;
    });

TEST(UrlConstraint, NulByteIsRefused) {
  auto m = DocsMatcher();
  std::string why;
  EXPECT_FALSE(CheckUrl(*m, std::string("https://docs.python.org/a\0b", 27), &why));
  EXPECT_NE(why.find("whitespace or a control character"), std::string::npos) << why;
}

TEST(UrlConstraint, DotSegmentsNeverLeaveAPathPrefix) {
  auto m = Compile({"https://docs.python.org/3/"});
  std::string why;
  EXPECT_FALSE(CheckUrl(*m, "https://docs.python.org/3/../2/", &why));
  EXPECT_NE(why.find("normalised to https://docs.python.org/2/"), std::string::npos) << why;
  EXPECT_FALSE(CheckUrl(*m, "https://docs.python.org/3/%2e%2e/2/", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://docs.python.org/3/.%2E/2/", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://docs.python.org/3/%2E./2/", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://docs.python.org/3/sub/../../2/", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://docs.python.org/3/..", &why));
  EXPECT_TRUE(CheckUrl(*m, "https://docs.python.org/3/./library/../tutorial/", &why)) << why;
  EXPECT_TRUE(CheckUrl(*m, "https://docs.python.org/2/../3/library/", &why)) << why;
}

TEST(UrlConstraint, PathPrefixIsSegmentAware) {
  auto m = Compile({"https://docs.python.org/3"});
  std::string why;
  EXPECT_TRUE(CheckUrl(*m, "https://docs.python.org/3", &why)) << why;
  EXPECT_TRUE(CheckUrl(*m, "https://docs.python.org/3/library/", &why)) << why;
  EXPECT_FALSE(CheckUrl(*m, "https://docs.python.org/30/", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://docs.python.org/3.12/", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://docs.python.org/", &why));
  EXPECT_NE(why.find("path / is not under an allowed prefix (allowed: /3)"), std::string::npos)
      << why;
}

TEST(UrlConstraint, PercentEncodedUnreservedCharactersMatchTheirPlainForm) {
  auto m = Compile({"https://developer.mozilla.org/en-US/docs/Web"});
  std::string why;
  EXPECT_TRUE(CheckUrl(*m, "https://developer.mozilla.org/%65n-US/docs/Web/API", &why)) << why;
  EXPECT_TRUE(CheckUrl(*m, "https://developer.mozilla.org/en%2dUS/docs/%57eb", &why)) << why;
  EXPECT_FALSE(CheckUrl(*m, "https://developer.mozilla.org/en-us/docs/Web", &why));
}

TEST(UrlConstraint, DocsPythonAndMozillaAreAllowed) {
  auto m = DocsMatcher();
  for (const char* url : {
           "https://docs.python.org/3/library/",
           "https://docs.python.org/3/library/os.html#os.walk",
           "https://developer.mozilla.org/en-US/docs/Web",
           "https://developer.mozilla.org/en-US/docs/Web/API/fetch?retiredLocale=de",
           "HTTPS://DOCS.PYTHON.ORG/3/library/",      // scheme and host are case-insensitive
           "https://docs.python.org./3/library/",     // trailing dot
           "https://docs.python.org:443/3/library/",  // explicit default port
           "https://docs.python.org",                 // empty path is "/"
           "https://docs.python.org?q=1",             // query without a path
           "https://docs.pyth%6Fn.org/3/",            // percent-encoded host
           "https://docs.python.org/3/library/\xC3\xA9t\xC3\xA9",  // non-ASCII path
           "https://\xEF\xBD\x84ocs.python.org/3/",  // fullwidth d maps to d (UTS #46)
       }) {
    std::string why;
    EXPECT_TRUE(CheckUrl(*m, url, &why)) << url << ": " << why;
  }
}

TEST(UrlConstraint, MixedScriptHomographIsRefusedNamingItsPunycodeForm) {
  auto m = DocsMatcher();
  std::string why;
  // Cyrillic o (U+043E) in "docs": Latin and Cyrillic in one label.
  EXPECT_FALSE(CheckUrl(*m,
                        "https://d\xD0\xBE"
                        "cs.python.org/3/",
                        &why));
  EXPECT_NE(why.find("xn--dcs-sed.python.org"), std::string::npos) << why;
  EXPECT_NE(why.find("mixes scripts (Latin, Cyrillic)"), std::string::npos) << why;
  // The same host written in Punycode is refused too.
  EXPECT_FALSE(CheckUrl(*m, "https://xn--dcs-sed.python.org/3/", &why));
  EXPECT_NE(why.find("mixes scripts"), std::string::npos) << why;
  // And a policy cannot name it.
  EXPECT_NE(ValidateHostPattern("d\xD0\xBE"
                                "cs.python.org"),
            std::nullopt);
}

TEST(UrlConstraint, WholeScriptLookAlikeNormalisesToPunycodeAndDoesNotMatch) {
  // "python" spelled in Cyrillic where it can be (р у т о п): one script, so not refused,
  // but its ASCII form is Punycode and never equals the Latin name.
  std::string why;
  const char* url = "https://docs.\xD1\x80\xD1\x83\xD1\x82\xD0\xBE\xD0\xBF.org/3/";
  auto n = NormaliseUrl(url, &why);
  ASSERT_TRUE(n.has_value()) << why;
  EXPECT_EQ(n->rfind("https://docs.xn--", 0), 0u) << *n;
  auto m = DocsMatcher();
  EXPECT_FALSE(CheckUrl(*m, url, &why));
  EXPECT_NE(why.find("normalised to " + *n), std::string::npos) << why;
  EXPECT_NE(why.find("is not allowed"), std::string::npos) << why;
}

TEST(UrlConstraint, JapaneseAndKoreanHostsAreNotMixedScript) {
  std::string why;
  // Han + Hiragana + Katakana + Latin, and Hangul + Latin: allowed combinations.
  EXPECT_TRUE(NormaliseUrl("https://\xE6\x97\xA5\xE6\x9C\xAC\xE3\x81\xAE\xE3\x82\xB5\xE3\x82"
                           "\xA4\xE3\x83\x88"
                           "abc.jp/",
                           &why)
                  .has_value())
      << why;
  EXPECT_TRUE(NormaliseUrl("https://\xED\x95\x9C\xEA\xB5\xAD"
                           "abc.kr/",
                           &why)
                  .has_value())
      << why;
  EXPECT_TRUE(NormaliseUrl("https://m\xC3\xBCnchen.de/", &why).has_value()) << why;
}

TEST(UrlConstraint, UnicodeHostPatternMatchesItsPunycodeForm) {
  auto m =
      Compile({"https://b\xC3\xBC"
               "cher.example/"});
  std::string why;
  EXPECT_TRUE(CheckUrl(*m, "https://xn--bcher-kva.example/", &why)) << why;
  EXPECT_TRUE(CheckUrl(*m,
                       "https://B\xC3\x9C"
                       "CHER.example/",
                       &why))
      << why;
  EXPECT_FALSE(CheckUrl(*m, "https://bucher.example/", &why));
}

TEST(UrlConstraint, WildcardHostMatchesSubdomainsOnly) {
  auto m = Compile({"https://*.mozilla.org/"});
  std::string why;
  EXPECT_TRUE(CheckUrl(*m, "https://developer.mozilla.org/", &why)) << why;
  EXPECT_TRUE(CheckUrl(*m, "https://a.b.mozilla.org/", &why)) << why;
  EXPECT_FALSE(CheckUrl(*m, "https://mozilla.org/", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://evilmozilla.org/", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://mozilla.org.evil.com/", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://developer.mozilla.org@evil.com/", &why));
}

TEST(UrlConstraint, IpLiteralsMatchAnIpPatternInCanonicalFormOnly) {
  auto m = Compile({"http://127.0.0.1:8080/", "https://[::1]/"}, {});
  std::string why;
  for (const char* url : {"http://127.0.0.1:8080/", "http://2130706433:8080/",
                          "http://0x7f.1:8080/", "http://0177.0.0.1:8080/", "http://127.0.1:8080/",
                          "https://[0:0::1]/", "https://[::0:1]:443/"}) {
    EXPECT_TRUE(CheckUrl(*m, url, &why)) << url << ": " << why;
  }
  EXPECT_FALSE(CheckUrl(*m, "http://127.0.0.1/", &why));
  EXPECT_NE(why.find("port 80 is not allowed"), std::string::npos) << why;
  EXPECT_FALSE(CheckUrl(*m, "http://127.0.0.2:8080/", &why));
  // A name pattern never matches an IP, and a wildcard cannot be put before one.
  EXPECT_NE(ValidateHostPattern("*.127.0.0.1"), std::nullopt);
  auto wild = Compile({"https://*.com/"});
  EXPECT_FALSE(CheckUrl(*wild, "https://2130706433/", &why));
}

TEST(UrlConstraint, NormalForms) {
  struct {
    const char* in;
    const char* out;
  } cases[] = {
      {"HTTPS://Docs.Python.ORG:443/3/./a/../b?x=%41#frag", "https://docs.python.org/3/b?x=%41"},
      {"https://docs.python.org/a/%7e/%41%2d/%3f/%20", "https://docs.python.org/a/~/A-/%3F/%20"},
      {"http://0x7f.1/", "http://127.0.0.1/"},
      {"http://4294967295/", "http://255.255.255.255/"},
      {"http://[2001:DB8:0:0:1:0:0:1]:8080/", "http://[2001:db8::1:0:0:1]:8080/"},
      {"http://[::]/", "http://[::]/"},
      {"https://example.com/a/..", "https://example.com/"},
      {"https://example.com/a/b/..", "https://example.com/a/"},
      {"https://example.com/a/.", "https://example.com/a/"},
      {"https://example.com/..", "https://example.com/"},
  };
  for (const auto& c : cases) {
    std::string why;
    auto n = NormaliseUrl(c.in, &why);
    ASSERT_TRUE(n.has_value()) << c.in << ": " << why;
    EXPECT_EQ(*n, c.out) << c.in;
  }
  std::string why;
  EXPECT_EQ(NormaliseUrl("http://4294967296/", &why), std::nullopt);
  EXPECT_EQ(NormaliseUrl("http://1.2.3.4.5/", &why), std::nullopt);
  EXPECT_EQ(NormaliseUrl("http://[1:2:3:4:5:6:7:8:9]/", &why), std::nullopt);
}

TEST(UrlConstraint, OverLongUrlIsRefused) {
  auto m = DocsMatcher();
  std::string url = "https://docs.python.org/" + std::string(9000, 'a');
  std::string why;
  EXPECT_FALSE(CheckUrl(*m, url, &why));
  EXPECT_NE(why.find("longer than 8192"), std::string::npos) << why;
  std::string host = "https://" + std::string(300, 'a') + ".org/";
  EXPECT_FALSE(CheckUrl(*m, host, &why));
  EXPECT_NE(why.find("cannot be parsed"), std::string::npos) << why;
  std::string label = "https://" + std::string(64, 'a') + ".org/";
  EXPECT_FALSE(CheckUrl(*m, label, &why));
  EXPECT_NE(why.find("longer than 63"), std::string::npos) << why;
}

TEST(UrlConstraint, DefaultSchemeIsHttpsAndDefaultPortOnly) {
  UrlRule r;
  r.hosts = {"example.com"};
  auto m = CompileUrlRules(UrlRules{{r}});
  std::string why;
  EXPECT_TRUE(CheckUrl(*m, "https://example.com/x", &why)) << why;
  EXPECT_FALSE(CheckUrl(*m, "http://example.com/x", &why));
  EXPECT_FALSE(CheckUrl(*m, "https://example.com:8443/x", &why));
  r.ports = {8443};
  r.schemes = {"HTTPS", "wss"};
  m = CompileUrlRules(UrlRules{{r}});
  EXPECT_TRUE(CheckUrl(*m, "https://example.com:8443/x", &why)) << why;
  EXPECT_TRUE(CheckUrl(*m, "wss://example.com:8443/x", &why)) << why;
  EXPECT_FALSE(CheckUrl(*m, "https://example.com/x", &why));
}

TEST(UrlConstraint, ObjectRuleNeedsEveryPart) {
  UrlRule r;
  r.schemes = {"https"};
  r.hosts = {"*.mozilla.org"};
  r.ports = {443};
  r.path_prefixes = {"/en-US/"};
  auto m = Compile({}, {r});
  std::string why;
  EXPECT_TRUE(CheckUrl(*m, "https://developer.mozilla.org/en-US/docs/Web", &why)) << why;
  EXPECT_FALSE(CheckUrl(*m, "https://developer.mozilla.org/de/docs/Web", &why));
  EXPECT_NE(why.find("path /de/docs/Web is not under an allowed prefix"), std::string::npos) << why;
}

TEST(UrlConstraint, InvalidRuleIsRejectedAndNeverMatches) {
  for (const char* host : {"", "*", "*.", "a.*.com", "ex ample.com", "user@example.com",
                           "example.com:443", "a..b", "*.10.0.0.1", "[::1"}) {
    EXPECT_NE(ValidateHostPattern(host), std::nullopt) << host;
  }
  EXPECT_EQ(ValidateHostPattern("*.example.com"), std::nullopt);
  EXPECT_EQ(ValidateHostPattern("Example.COM."), std::nullopt);
  EXPECT_EQ(ValidateHostPattern("[::1]"), std::nullopt);
  UrlRule bad;
  bad.hosts = {"a.*.com"};
  EXPECT_NE(ValidateUrlRule(bad), std::nullopt);
  auto m = CompileUrlRules(UrlRules{{bad}});
  std::string why;
  EXPECT_FALSE(CheckUrl(*m, "https://a.x.com/", &why));
  UrlRule bad_path;
  bad_path.path_prefixes = {"no-slash"};
  EXPECT_NE(ValidateUrlRule(bad_path), std::nullopt);
  bad_path.path_prefixes = {"/a%2Fb"};
  EXPECT_NE(ValidateUrlRule(bad_path), std::nullopt);
  UrlRule bad_scheme;
  bad_scheme.schemes = {"ht tp"};
  EXPECT_NE(ValidateUrlRule(bad_scheme), std::nullopt);
  // No rules: nothing passes.
  auto none = CompileUrlRules(UrlRules{});
  EXPECT_FALSE(CheckUrl(*none, "https://docs.python.org/", &why));
}

TEST(UrlConstraint, UrlPrefixParsing) {
  std::string why;
  auto r = ParseUrlPrefix("HTTPS://*.Mozilla.org:443/en-US/", &why);
  ASSERT_TRUE(r.has_value()) << why;
  EXPECT_EQ(r->schemes, std::vector<std::string>{"https"});
  EXPECT_EQ(r->hosts, std::vector<std::string>{"*.mozilla.org"});
  EXPECT_TRUE(r->ports.empty());
  EXPECT_EQ(r->path_prefixes, std::vector<std::string>{"/en-US/"});
  r = ParseUrlPrefix("http://localhost:8080", &why);
  ASSERT_TRUE(r.has_value()) << why;
  EXPECT_EQ(r->ports, std::vector<uint16_t>{8080});
  EXPECT_TRUE(r->path_prefixes.empty());
  for (const char* bad : {"", "docs.python.org", "https://", "https://u@h/", "https://h/?q",
                          "https://h/#f", "https://h/a%2Fb", "https://*/", "https://a.*.b/"}) {
    EXPECT_FALSE(ParseUrlPrefix(bad, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty());
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::policy
