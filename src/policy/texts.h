// The forms in which decisions' reasons quote names and JSON values. In the policy
// library so that the texts a policy always quotes the same way (a constraint's allowed
// values, a tool's scope) are written once when the policy is loaded
// (AgentPolicy::PrepareTexts), not once per decision; the engine writes every reason
// with these same functions.
#ifndef INTERLOCK_POLICY_TEXTS_H_
#define INTERLOCK_POLICY_TEXTS_H_

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace interlock::policy {

// Appends `s` as a JSON string literal, so names with quotes, control bytes or trailing
// spaces are unambiguous in reasons and rule ids.
void AppendQuoted(std::string* out, std::string_view s);
std::string Quote(std::string_view s);
// A JSON value for a reason: canonical, cut short on a UTF-8 boundary when long, and
// summarised when it is a large container.
std::string ShowValue(const boost::json::value& v);
// `prefix["name"]suffix`, e.g. tools.allowed["x"].scope: a rule id.
std::string RuleId(std::string_view prefix, std::string_view name, std::string_view suffix = {});
// ShowValue of each, joined by ", " (a one_of list in a reason).
std::string ShowList(const std::vector<boost::json::value>& values);
// Quote of each, joined by ", " (a scope list in a reason).
std::string QuoteList(const std::vector<std::string>& names);

}  // namespace interlock::policy

#endif  // INTERLOCK_POLICY_TEXTS_H_
