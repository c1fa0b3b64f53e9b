// core::WebOrigin, the daemon's own origin that the console's CSRF check compares a
// request's Origin header with.
#include "core/app/web_origin.h"

#include <gtest/gtest.h>

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

// Tests that the origin keeps the scheme and host, drops the path, and writes the port only
// when it is not the scheme's default.
TEST(WebOrigin, SchemeHostAndNonDefaultPort) {
  EXPECT_EQ(WebOrigin("https://il.example.com/console?x=1"), "https://il.example.com");
  EXPECT_EQ(WebOrigin("https://il.example.com:443/"), "https://il.example.com");
  EXPECT_EQ(WebOrigin("http://127.0.0.1:8181"), "http://127.0.0.1:8181");
  EXPECT_EQ(WebOrigin("http://[::1]:8181/x"), "http://[::1]:8181");
}

// Tests that what is not an http(s) URL with a host has no origin (no request matches it).
TEST(WebOrigin, NoOriginForWhatIsNotAnHttpUrl) {
  EXPECT_EQ(WebOrigin(""), "");
  EXPECT_EQ(WebOrigin("ftp://il.example.com"), "");
  EXPECT_EQ(WebOrigin("not a url"), "");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
