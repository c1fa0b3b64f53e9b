#include "common/url_text.h"

#include <gtest/gtest.h>

namespace interlock {
namespace INTERLOCK_TEST_NS {

// Tests that a URL's userinfo and a `password=` parameter never reach a log line, whatever
// the scheme, and that everything else of the URL is shown as written.
TEST(UrlForLogTest, PasswordInUserinfoOrQueryIsNeverShown) {
  struct Case {
    const char* url;
    const char* want;
  };
  const Case cases[] = {
      {"http://user:hunter2@collector:4318", "http://****@collector:4318"},
      {"https://hunter2@h/v1/traces?x=1", "https://****@h/v1/traces?x=1"},
      {"postgresql://app:hunter2@db:5432/interlock", "postgresql://****@db:5432/interlock"},
      {"postgresql://db/interlock?user=app&password=hunter2&sslmode=require",
       "postgresql://db/interlock?user=app&password=****&sslmode=require"},
      {"http://a:b@c@host/p", "http://****@host/p"},
      {"http://host/p?q=a@b", "http://host/p?q=a@b"},
      {"http://127.0.0.1:8181/x#frag", "http://127.0.0.1:8181/x#frag"},
      {"state/interlock.db", "state/interlock.db"},
      {":memory:", ":memory:"},
      {"", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(UrlForLog(c.url), c.want) << c.url;
    EXPECT_EQ(UrlHasCredentials(c.url), std::string(c.url) != c.want) << c.url;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
