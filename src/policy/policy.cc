#include "policy/policy.h"

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

#include "common/glob.h"
#include "policy/texts.h"

namespace interlock::policy {

std::string Location::ToString() const {
  if (file.empty()) return {};
  if (line <= 0) return file;
  // One allocation (a decision carries its rule's location: once per call).
  char buf[32];  // ":" and two ints of at most 11 characters each
  char* p = buf;
  *p++ = ':';
  p = std::to_chars(p, buf + 12, line).ptr;
  *p++ = ':';
  p = std::to_chars(p, buf + 25, column).ptr;
  std::string out;
  out.reserve(file.size() + static_cast<size_t>(p - buf));
  out.append(file);
  out.append(buf, p);
  return out;
}

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kEnforce:
      return "enforce";
    case Mode::kShadow:
      return "shadow";
  }
  return "enforce";
}

const char* AutonomyName(Autonomy a) {
  switch (a) {
    case Autonomy::kGateAll:
      return "gate_all";
    case Autonomy::kExceptionBased:
      return "exception_based";
    case Autonomy::kAuditBased:
      return "audit_based";
  }
  return "gate_all";
}

const char* BlastRadiusName(BlastRadius b) {
  switch (b) {
    case BlastRadius::kSmall:
      return "small";
    case BlastRadius::kLarge:
      return "large";
  }
  return "large";
}

const char* BudgetActionName(BudgetAction a) {
  switch (a) {
    case BudgetAction::kDeny:
      return "deny";
    case BudgetAction::kHalt:
      return "halt";
    case BudgetAction::kHaltAndEscalate:
      return "halt_and_escalate";
  }
  return "halt";
}

// Tool-name patterns are the common glob (common/glob.h), so that a pattern means the same
// in tools, workflows, flows and command constraints.
bool ToolPatternMatches(std::string_view pattern, std::string_view name) {
  return GlobMatches(pattern, name);
}

bool ToolPatternsOverlap(std::string_view a, std::string_view b) { return GlobsOverlap(a, b); }

ToolResolution AgentPolicy::Resolve(std::string_view tool) const {
  ToolResolution r;
  if (auto b = blocked.find(tool); b != blocked.end()) {
    r.kind = ToolResolution::Kind::kBlocked;
    r.entry = b->first;
    r.at = &b->second;
  } else if (auto a = allowed.find(tool); a != allowed.end()) {
    r.kind = ToolResolution::Kind::kAllowed;
    r.entry = a->first;
    r.rule = &a->second;
    r.at = &a->second.at;
  } else {
    // Most specific first, so the first match decides.
    for (const ToolPatternEntry& e : tool_patterns) {
      if (!ToolPatternMatches(e.pattern, tool)) continue;
      r.pattern = true;
      if (e.blocked) {
        auto it = blocked.find(e.pattern);
        if (it == blocked.end()) continue;  // stale index: never resolve to a missing entry
        r.kind = ToolResolution::Kind::kBlocked;
        r.entry = it->first;
        r.at = &it->second;
      } else {
        auto it = allowed.find(e.pattern);
        if (it == allowed.end()) continue;
        r.kind = ToolResolution::Kind::kAllowed;
        r.entry = it->first;
        r.rule = &it->second;
        r.at = &it->second.at;
      }
      return r;
    }
  }
  if (r.kind != ToolResolution::Kind::kNone) {
    r.pattern = IsGlob(r.entry);
  }
  return r;
}

void AgentPolicy::PrepareTexts() {
  for (auto& [name, rule] : allowed) {
    if (rule.scope) rule.scope_text = QuoteList(*rule.scope);
    rule.rule_id_text = RuleId("tools.allowed", name);
    rule.allowed_reason_text = "tool " + Quote(name) + " is allowed";
    rule.at_text = rule.at.ToString();
    for (ArgConstraint& c : rule.constraints) {
      if (!c.one_of.empty()) c.one_of_text = ShowList(c.one_of);
      c.at_text = c.at.ToString();
    }
  }
}

void AgentPolicy::IndexToolPatterns() {
  struct Keyed {
    ToolPatternEntry e;
    int line = 0;
    int column = 0;
  };
  std::vector<Keyed> all;
  for (const auto& [name, at] : blocked) {
    if (!IsGlob(name)) continue;
    all.push_back({{name, true, GlobLiteralBytes(name)}, at.line, at.column});
  }
  for (const auto& [name, rule] : allowed) {
    if (!IsGlob(name)) continue;
    all.push_back({{name, false, GlobLiteralBytes(name)}, rule.at.line, rule.at.column});
  }
  std::stable_sort(all.begin(), all.end(), [](const Keyed& a, const Keyed& b) {
    if (a.e.literal_bytes != b.e.literal_bytes) return a.e.literal_bytes > b.e.literal_bytes;
    if (a.e.blocked != b.e.blocked) return a.e.blocked;
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  tool_patterns.clear();
  tool_patterns.reserve(all.size());
  for (Keyed& k : all) tool_patterns.push_back(std::move(k.e));
}

std::string ShadowWarning(const AgentPolicy& p) {
  if (p.mode != Mode::kShadow) return {};
  const std::string where =
      p.mode_at.line > 0 ? p.mode_at.file + ":" + std::to_string(p.mode_at.line) : p.file;
  return "warning: policy for agent " + p.id +
         " is in shadow mode: calls are recorded, not enforced (" + where + ")";
}

const AgentPolicy* PolicySet::Find(std::string_view agent_id) const {
  auto it = agents.find(agent_id);
  return it == agents.end() ? nullptr : it->second.get();
}

}  // namespace interlock::policy
