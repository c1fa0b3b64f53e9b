// Lint: the seed's pre-production checklist, as warnings on a policy that already loaded.
//
// Every warning has a stable id (docs/policy.md#lint); `interlock check --strict` turns
// warnings into errors. Infos (sugar-argument) only explain how a key was read.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/glob.h"
#include "policy/loader.h"

namespace interlock::policy {
namespace {

constexpr std::string_view kSugarMarker = ".constraints.allowed_";

// Where to point when the key a warning is about is absent: the agent key, else the file.
Location Fallback(const AgentPolicy& p) {
  if (p.at.line > 0) return p.at;
  return {p.file, 0, 0};
}

Location Or(const Location& at, const AgentPolicy& p) { return at.line > 0 ? at : Fallback(p); }

// Two entries that can match the same tool (a pattern and a name, or two patterns),
// naming both and which one decides the tools both match (AgentPolicy::Resolve's order).
template <typename Add>
void LintOverlaps(const AgentPolicy& p, Add add) {
  struct Entry {
    std::string_view name;
    bool blocked;
    Location at;
  };
  std::vector<Entry> entries;
  for (const auto& [name, at] : p.blocked) entries.push_back({name, true, at});
  for (const auto& [name, rule] : p.allowed) entries.push_back({name, false, rule.at});
  auto list = [](const Entry& e) { return e.blocked ? "tools.blocked" : "tools.allowed"; };
  auto show = [&](const Entry& e) {
    return std::string(list(e)) + " entry \"" + std::string(e.name) + "\" (" +
           (e.at.line > 0 ? std::to_string(e.at.line) + ":" + std::to_string(e.at.column)
                          : std::string("?")) +
           ")";
  };
  auto written_before = [](const Location& a, const Location& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  };
  // In the order written, so that the diagnostics come out in reading order.
  std::stable_sort(entries.begin(), entries.end(),
                   [&](const Entry& a, const Entry& b) { return written_before(a.at, b.at); });
  for (size_t k = 1; k < entries.size(); ++k) {
    for (size_t i = 0; i < k; ++i) {
      const Entry* a = &entries[i];
      const Entry* b = &entries[k];
      if (!IsGlob(a->name) && !IsGlob(b->name)) continue;  // distinct names never overlap
      if (!GlobsOverlap(a->name, b->name)) continue;
      if (written_before(b->at, a->at)) std::swap(a, b);  // a is written first
      std::string why;
      const Entry* winner = nullptr;
      if (!IsGlob(a->name) || !IsGlob(b->name)) {
        winner = IsGlob(a->name) ? b : a;
        why = "an exact name beats any pattern, so \"" + std::string(winner->name) +
              "\" is decided by its own entry";
      } else if (GlobLiteralBytes(a->name) != GlobLiteralBytes(b->name)) {
        winner = GlobLiteralBytes(a->name) > GlobLiteralBytes(b->name) ? a : b;
        why = "the more specific pattern (more bytes that are not `*`) wins: \"" +
              std::string(winner->name) + "\" decides the tools both match";
      } else if (a->blocked != b->blocked) {
        winner = a->blocked ? a : b;
        why = "at equal specificity blocked beats allowed: \"" + std::string(winner->name) +
              "\" decides the tools both match";
      } else {
        winner = a;
        why = "at equal specificity the entry written first wins: \"" + std::string(winner->name) +
              "\" decides the tools both match";
      }
      // Two blocked entries block either way: worth knowing, not worth a warning.
      const auto severity =
          a->blocked && b->blocked ? Diagnostic::Severity::kInfo : Diagnostic::Severity::kWarning;
      add(severity, b->at, "overlapping-tools",
          show(*a) + " and " + show(*b) + " can match the same tool; " + why);
    }
  }
}

}  // namespace

std::vector<Diagnostic> Lint(const AgentPolicy& p) {
  std::vector<Diagnostic> out;
  auto add = [&](Diagnostic::Severity severity, Location at, std::string id, std::string msg) {
    if (at.file.empty()) at.file = p.file;
    out.push_back({severity, std::move(at), std::move(id), std::move(msg)});
  };
  auto warn = [&](Location at, std::string id, std::string msg) {
    add(Diagnostic::Severity::kWarning, std::move(at), std::move(id), std::move(msg));
  };

  if (p.identity.empty()) {
    warn(Or(p.identity_at, p), "no-identity",
         "agent.identity is not set: give the agent its own service account (not a shared "
         "or personal credential) so every action has an auditable identity");
  }
  if (p.mode == Mode::kShadow) {
    warn(Fallback(p), "shadow-mode",
         "agent.mode is shadow: nothing is enforced, calls that would be denied are only "
         "recorded; switch to mode: enforce before production");
  }

  const Execution& e = p.execution;
  std::string missing;
  auto need = [&](bool set, const char* key) {
    if (set) return;
    if (!missing.empty()) missing += ", ";
    missing += key;
  };
  need(e.max_steps.has_value(), "max_steps");
  need(e.max_wall_clock_ms.has_value(), "max_wall_clock_seconds");
  need(e.max_cost_micros.has_value(), "max_cost_usd");
  if (!missing.empty()) {
    warn(Or(e.at, p), "no-execution-bounds",
         "execution bounds missing: " + missing +
             "; set a step cap, a wall-clock deadline and a cost budget so a runaway run halts");
  }
  if (e.on_budget_exceeded == BudgetAction::kHaltAndEscalate && e.notify.empty() &&
      p.escalation_contacts.empty()) {
    warn(Or(e.at, p), "escalation-without-target",
         "on_budget_exceeded.action is halt_and_escalate but there is no notify channel and "
         "no escalation.contacts: nobody would be told; set notify or escalation.contacts");
  }

  if (p.blocked.empty()) {
    warn(Or(p.tools_at, p), "no-blocked-list",
         "tools.blocked is empty: list the dangerous operations this agent must never run "
         "(deletes, bulk sends, raw payment access) so they are refused explicitly");
  }
  if (p.escalation_contacts.empty()) {
    warn(Fallback(p), "no-escalation-contacts",
         "escalation.contacts is empty: name the specific people (not just a channel) who "
         "answer when a run halts or an approval is pending");
  }

  for (const auto& [name, tool] : p.allowed) {
    const Autonomy autonomy = tool.autonomy.value_or(p.autonomy);
    const bool irreversible = tool.reversible.has_value() && !*tool.reversible;
    if (irreversible && tool.requires_approval == false && autonomy != Autonomy::kGateAll) {
      warn(tool.at, "irreversible-without-approval",
           "tool \"" + name +
               "\" is irreversible but requires_approval is false: remove that line or set it "
               "to true so a human approves every irreversible action");
    }
    const bool can_require =
        tool.requires_approval.value_or(irreversible || autonomy == Autonomy::kGateAll);
    if (!can_require && tool.approvals_required > 1) {
      warn(tool.at, "approvers-without-approval",
           "tool \"" + name +
               "\" sets approvals_required: " + std::to_string(tool.approvals_required) +
               " but never requires approval (requires_approval is not true, the tool is not "
               "irreversible and autonomy is not gate_all), so its calls run with no approval "
               "at all; add requires_approval: true");
    }
    if (can_require && tool.approval_timeout_seconds == 0) {
      warn(tool.at, "approval-without-timeout",
           "tool \"" + name +
               "\" can require approval but sets no approval_timeout_seconds: set it (and "
               "auto_deny_on_timeout) so a pending approval cannot stall the run indefinitely");
    }
    for (const ArgConstraint& c : tool.constraints) {
      const size_t pos = c.rule.rfind(kSugarMarker);
      if (pos == std::string::npos) continue;
      const std::string key = c.rule.substr(pos + std::string_view(".constraints.").size());
      add(Diagnostic::Severity::kInfo, c.at, "sugar-argument",
          "tool \"" + name + "\": " + key + " constrains the argument '" + c.argument +
              "'; if the tool names it differently, use constraints.arguments");
    }
  }

  for (const auto& [name, rule] : p.allowed) {
    if (name != "*") continue;
    warn(rule.at, "allow-every-tool",
         "tools.allowed has the pattern \"*\": every tool the agent calls is allowed unless "
         "blocked, including tools added to the server later; list the tools or narrow the "
         "pattern (e.g. \"mcp__github__get_*\")");
  }
  LintOverlaps(p, add);

  for (const FreezeWindow& w : p.freezes) {
    for (const std::string& t : w.tools) {
      if (t == "*" || p.Resolve(t).rule != nullptr) continue;
      warn(w.at, "freeze-unknown-tool",
           "freeze window \"" + w.name + "\" names tool \"" + t +
               "\", which is not in tools.allowed: the window has no effect on it; check the "
               "spelling");
    }
  }
  for (Diagnostic& d : LintSequences(p)) out.push_back(std::move(d));
  return out;
}

}  // namespace interlock::policy
