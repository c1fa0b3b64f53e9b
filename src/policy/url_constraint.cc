// Placeholder until the URL parser lands: every URL is a violation (fail closed).
#include "policy/url_constraint.h"

namespace interlock::policy {

class UrlMatcher {
 public:
  UrlRules rules;
};

std::optional<UrlRule> ParseUrlPrefix(std::string_view prefix, std::string* why) {
  if (prefix.empty()) {
    *why = "an empty URL prefix";
    return std::nullopt;
  }
  return UrlRule{};
}

std::optional<std::string> ValidateHostPattern(std::string_view host) {
  if (host.empty()) return std::string("an empty host");
  return std::nullopt;
}

std::shared_ptr<const UrlMatcher> CompileUrlRules(const UrlRules& rules) {
  auto m = std::make_shared<UrlMatcher>();
  m->rules = rules;
  return m;
}

bool CheckUrl(const UrlMatcher&, std::string_view, std::string* why) {
  *why = "URL constraints are not implemented in this build";
  return false;
}

}  // namespace interlock::policy
