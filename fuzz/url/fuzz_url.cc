// Fuzzes the URL parser and matcher: any bytes must give an allow or a violation with a
// reason, never a crash or a hang. A URL that parses must normalise to a fixed point (the
// normal form parses again to itself), and a URL the docs rules allow must still be allowed
// after normalisation. The same bytes read as a policy URL prefix must give a valid rule or
// a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/url_constraint.h"

namespace {

const interlock::policy::UrlMatcher& Docs() {
  static const auto matcher = [] {
    interlock::policy::UrlRules rules;
    for (const char* p : {"https://docs.python.org/3/", "https://*.mozilla.org/en-US/",
                          "http://127.0.0.1:8080/", "https://[::1]/api"}) {
      std::string why;
      rules.allow.push_back(*interlock::policy::ParseUrlPrefix(p, &why));
    }
    return interlock::policy::CompileUrlRules(rules);
  }();
  return *matcher;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock::policy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  bool allowed = CheckUrl(Docs(), text, &why);
  if (!allowed && why.empty()) std::abort();  // a violation always says why
  std::string nwhy;
  auto normal = NormaliseUrl(text, &nwhy);
  if (normal) {
    std::string again_why;
    auto again = NormaliseUrl(*normal, &again_why);
    if (!again || *again != *normal) std::abort();  // the normal form is a fixed point
    std::string cwhy;
    if (CheckUrl(Docs(), *normal, &cwhy) != allowed) std::abort();
  } else if (allowed || nwhy.empty()) {
    std::abort();  // an allowed URL parses; a refusal says why
  }
  std::string pwhy;
  auto rule = ParseUrlPrefix(text, &pwhy);
  if (rule) {
    if (ValidateUrlRule(*rule)) std::abort();  // a parsed prefix is a valid rule
  } else if (pwhy.empty()) {
    std::abort();
  }
  (void)ValidateHostPattern(text);
  return 0;
}
