#include "governance/trust.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "audit/audit_log.h"
#include "common/drill_agent.h"
#include "core/ports/store.h"
#include "governance/history.h"
#include "policy/loader.h"

namespace interlock::governance {
namespace {

namespace json = boost::json;

struct CallInfo {
  ToolEvidence* evidence = nullptr;  // the (agent, tool) row of TrustEvidence::tools
  bool denied = false;
  bool clean = false;
  bool incident = false;
};

// Lookups by string_view without building a std::string per record (a million decisions).
struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view v) const { return std::hash<std::string_view>{}(v); }
};

struct ReviewerRaw {
  std::vector<int64_t> decided_ms;
  std::vector<double> decide_s, grant_s;
  uint64_t granted = 0;
};

int Rank(policy::Autonomy a) { return static_cast<int>(a); }

std::optional<policy::Autonomy> ParseStage(std::string_view s) {
  if (s == "gate_all") return policy::Autonomy::kGateAll;
  if (s == "exception_based") return policy::Autonomy::kExceptionBased;
  if (s == "audit_based") return policy::Autonomy::kAuditBased;
  return std::nullopt;
}

std::string NextStage(policy::Autonomy a) {
  switch (a) {
    case policy::Autonomy::kGateAll:
      return "exception_based";
    case policy::Autonomy::kExceptionBased:
      return "audit_based";
    case policy::Autonomy::kAuditBased:
      return "";
  }
  return "";
}

json::object EvidenceJson(const ToolEvidence& e) {
  return {{"calls", e.calls},
          {"clean", e.clean},
          {"clean_since_reset", e.clean_since_reset},
          {"incidents", e.incidents},
          {"denials", e.denials},
          {"approvals_granted", e.approvals_granted},
          {"approvals_denied", e.approvals_denied}};
}

// --- the text edit ---

size_t Indent(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i;
}

bool BlankOrComment(std::string_view line) {
  const size_t i = Indent(line);
  return i >= line.size() || line[i] == '#' || line[i] == '\n' || line[i] == '\r';
}

// Splits "value  # comment" into the value (trimmed) and the rest ("  # comment").
std::pair<std::string, std::string> SplitComment(std::string_view s) {
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      size_t end = i;
      while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
      std::string v(s.substr(0, end));
      return {v, std::string(s.substr(end))};
    }
  }
  std::string v(s);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.pop_back();
  return {v, ""};
}

std::string Unquote(const std::string& v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if (v.front() == '"' && v[i] == '\\' && i + 2 < v.size()) ++i;
      out.push_back(v[i]);
    }
    return out;
  }
  return v;
}

// For "key: value # c" returns true and the value when the line (from its indent) is
// that key.
bool KeyLine(std::string_view rest, std::string_view key, std::string* value) {
  if (!rest.starts_with(key) || rest.size() <= key.size() || rest[key.size()] != ':') return false;
  std::string_view v = rest.substr(key.size() + 1);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  *value = Unquote(SplitComment(v).first);
  return true;
}

}  // namespace

Result<TrustEvidence> CollectTrustEvidence(const HistorySource& source,
                                           const TrustOptions& options) {
  TrustEvidence out;
  std::unordered_map<std::string, CallInfo, ViewHash, std::equal_to<>> calls;
  // "<agent length>:<agent><raw tool token>" -> its row of out.tools (a std::map: the
  // pointers stay valid).
  std::unordered_map<std::string, ToolEvidence*, ViewHash, std::equal_to<>> rows;
  std::string row_key;
  ApprovalRequests approvals;
  std::map<std::string, ReviewerRaw> reviewers;
  HistoryFilter filter;
  filter.types = {audit::kDecision, audit::kResult, audit::kApproval, audit::kIncident};
  filter.agent_id = options.agent_id;
  Status st = source.ForEachRecord(filter, [&](const RecordView& r) {
    if (r.agent_id == kDrillAgentId) return;  // a kill-switch drill is no agent's evidence
    if (r.type == audit::kDecision) {
      DecisionFields f;
      if (!ParseDecisionFields(r.data, &f)) {
        ++out.unreadable[std::string(r.agent_id)];
        return;
      }
      row_key.clear();  // length-prefixed: no two pairs collide
      row_key.append(std::to_string(r.agent_id.size()));
      row_key.push_back(':');
      row_key.append(r.agent_id);
      row_key.append(f.tool);
      auto row = rows.find(std::string_view(row_key));
      if (row == rows.end()) {
        ToolEvidence* e = &out.tools[{std::string(r.agent_id), TokenToString(f.tool)}];
        row = rows.emplace(row_key, e).first;
      }
      CallInfo info;
      info.evidence = row->second;
      info.denied = f.verdict == "\"deny\"";
      ++info.evidence->calls;
      if (info.denied) ++info.evidence->denials;
      if (auto c = calls.find(r.call_id); c != calls.end()) {
        c->second = info;
      } else {
        calls.emplace(std::string(r.call_id), info);
      }
      return;
    }
    auto it = calls.find(r.call_id);
    if (r.type == audit::kResult) {
      std::string_view ok;
      if (it == calls.end() || it->second.denied || it->second.incident) return;
      if (!FindMember(r.data, "ok", &ok) || ok != "true") return;
      ToolEvidence& e = *it->second.evidence;
      ++e.clean;
      ++e.clean_since_reset;
      it->second.clean = true;
      return;
    }
    if (r.type == audit::kIncident) {
      ToolEvidence& e =
          it != calls.end()
              ? *it->second.evidence
              : out.tools[{MemberString(r.data, "agent_id"), MemberString(r.data, "tool")}];
      ++e.incidents;
      e.clean_since_reset = 0;
      e.last_incident_ms = r.time_ms;
      if (it != calls.end()) {
        if (it->second.clean && e.clean > 0) --e.clean;
        it->second.clean = false;
        it->second.incident = true;
      }
      return;
    }
    // approval
    const ApprovalEvent a = approvals.Read(r);
    const std::string& event = a.event;
    if (event != "granted" && event != "denied") return;
    if (it != calls.end()) {
      ToolEvidence& e = *it->second.evidence;
      ++(event == "granted" ? e.approvals_granted : e.approvals_denied);
    }
    std::string reviewer = MemberString(r.data, "reviewer");
    if (reviewer.empty()) reviewer = std::string(r.principal);
    ReviewerRaw& rv = reviewers[reviewer];
    rv.decided_ms.push_back(r.time_ms);
    if (event == "granted") ++rv.granted;
    if (a.requested_ms) {
      const double s = static_cast<double>(r.time_ms - *a.requested_ms) / 1e3;
      rv.decide_s.push_back(s);
      if (event == "granted") rv.grant_s.push_back(s);
    }
  });
  if (!st.ok()) return st.error();
  for (auto& [name, rv] : reviewers) {
    ReviewerStats s;
    s.decisions = rv.decided_ms.size();
    s.granted = rv.granted;
    std::map<int64_t, uint64_t> hours;
    for (int64_t ms : rv.decided_ms) ++hours[ms / 3600000];
    s.active_hours = hours.size();
    for (const auto& [h, n] : hours) s.max_per_hour = std::max(s.max_per_hour, n);
    s.per_hour = s.active_hours ? static_cast<double>(s.decisions) / s.active_hours : 0;
    s.median_decide_s = Median(rv.decide_s);
    s.median_grant_s = Median(rv.grant_s);
    for (double g : rv.grant_s) s.fast_grants += g < options.fatigue_floor_s ? 1 : 0;
    s.flagged = s.median_grant_s >= 0 && s.median_grant_s < options.fatigue_floor_s;
    out.reviewers[name] = s;
  }
  return out;
}

std::vector<TrustRow> TrustRows(const TrustEvidence& evidence, const policy::PolicySet& policies,
                                const std::string& agent_id) {
  std::vector<TrustRow> rows;
  for (const auto& [id, agent] : policies.agents) {
    if (!agent_id.empty() && id != agent_id) continue;
    const bool complete = !evidence.unreadable.contains(id);
    for (const auto& [tool, rule] : agent->allowed) {
      TrustRow row;
      row.agent_id = id;
      row.tool = tool;
      const policy::Autonomy a = rule.autonomy.value_or(agent->autonomy);
      row.stage = policy::AutonomyName(a);
      row.threshold = agent->trust_threshold;
      if (auto it = evidence.tools.find({id, tool}); it != evidence.tools.end()) {
        row.evidence = it->second;
      }
      row.next_stage = NextStage(a);
      row.eligible =
          complete && !row.next_stage.empty() && row.evidence.clean_since_reset >= row.threshold;
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

json::object TrustReportToJson(const std::vector<TrustRow>& rows, const TrustEvidence& evidence,
                               double floor_s) {
  json::array tools;
  for (const TrustRow& r : rows) {
    json::object o{{"agent_id", r.agent_id},
                   {"tool", r.tool},
                   {"stage", r.stage},
                   {"threshold", r.threshold},
                   {"eligible", r.eligible},
                   {"next_stage", r.next_stage},
                   {"evidence", EvidenceJson(r.evidence)}};
    tools.push_back(std::move(o));
  }
  json::array reviewers;
  for (const auto& [name, s] : evidence.reviewers) {
    reviewers.push_back(json::object{{"reviewer", name},
                                     {"decisions", s.decisions},
                                     {"granted", s.granted},
                                     {"active_hours", s.active_hours},
                                     {"per_hour", s.per_hour},
                                     {"max_per_hour", s.max_per_hour},
                                     {"median_decide_s", s.median_decide_s},
                                     {"median_grant_s", s.median_grant_s},
                                     {"fast_grants", s.fast_grants},
                                     {"flagged", s.flagged}});
  }
  json::object unreadable;
  for (const auto& [agent, n] : evidence.unreadable) unreadable[agent] = n;
  return {{"tools", std::move(tools)},
          {"reviewers", std::move(reviewers)},
          {"unreadable_records", std::move(unreadable)},
          {"fatigue_floor_s", floor_s}};
}

std::string TrustReportToText(const std::vector<TrustRow>& rows, const TrustEvidence& evidence,
                              double floor_s) {
  std::ostringstream o;
  o << "agent / tool                               stage            clean  since-reset  "
       "incidents  denials  appr+/-   eligible\n";
  for (const TrustRow& r : rows) {
    char line[512];
    const ToolEvidence& e = r.evidence;
    std::snprintf(line, sizeof(line), "%-42s %-16s %6llu  %11llu  %9llu  %7llu  %3llu/%-3llu  %s\n",
                  (r.agent_id + " / " + r.tool).c_str(), r.stage.c_str(),
                  static_cast<unsigned long long>(e.clean),
                  static_cast<unsigned long long>(e.clean_since_reset),
                  static_cast<unsigned long long>(e.incidents),
                  static_cast<unsigned long long>(e.denials),
                  static_cast<unsigned long long>(e.approvals_granted),
                  static_cast<unsigned long long>(e.approvals_denied),
                  r.eligible ? ("yes -> " + r.next_stage).c_str()
                             : ("no (" + std::to_string(e.clean_since_reset) + "/" +
                                std::to_string(r.threshold) + ")")
                                   .c_str());
    o << line;
  }
  for (const auto& [agent, n] : evidence.unreadable) {
    o << "\n"
      << agent << ": " << n
      << " decision record(s) could not be read: they may be denials or failures of any of its "
         "tools, so none is eligible (check the log with `interlock audit verify --deep`)\n";
  }
  if (!evidence.reviewers.empty()) {
    o << "\napproval fatigue (floor " << floor_s << " s)\n";
    for (const auto& [name, s] : evidence.reviewers) {
      o << "  " << name << ": " << s.decisions << " decisions, " << s.per_hour
        << "/active hour (max " << s.max_per_hour << "), median decide " << s.median_decide_s
        << " s, median grant " << s.median_grant_s << " s, " << s.fast_grants
        << " grants under the floor"
        << (s.flagged ? "  FLAGGED: approving faster than anyone can read" : "") << "\n";
    }
  }
  return o.str();
}

Status MarkIncident(core::Store& store, const IncidentMark& mark) {
  if (mark.reason.empty() || mark.by.empty()) {
    return Error::Invalid("an incident needs a reason and who marks it");
  }
  Result<core::CallAuditRecord> decision = store.FindCallRecord(audit::kDecision, mark.call_id);
  if (!decision.ok()) {
    if (decision.error().kind == ErrorKind::kNotFound) {
      return Error::NotFound("no decision recorded for call " + mark.call_id);
    }
    return decision.error();
  }
  std::string tool;
  std::string_view data, t;
  if (FindMember(decision->body, "data", &data) && FindMember(data, "tool", &t)) {
    tool = TokenToString(t);
  }
  std::vector<audit::AuditEvent> events;
  events.push_back(audit::AuditEvent{audit::kIncident, mark.now, decision->run_id, mark.call_id,
                                     decision->agent_id, mark.by,
                                     json::object{{"call_id", mark.call_id},
                                                  {"tool", tool},
                                                  {"agent_id", decision->agent_id},
                                                  {"reason", mark.reason},
                                                  {"by", mark.by}}});
  return store.AppendRecords(std::move(events));
}

Result<std::string> SetToolAutonomyText(const std::string& text, const std::string& tool,
                                        const std::string& stage) {
  std::vector<std::string> lines;
  for (size_t p = 0; p < text.size();) {
    size_t e = text.find('\n', p);
    e = e == std::string::npos ? text.size() : e + 1;
    lines.push_back(text.substr(p, e - p));
    p = e;
  }
  auto body = [](const std::string& l) {
    std::string_view v(l);
    v.remove_prefix(Indent(v));
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
    return v;
  };
  // tools: at top level, then allowed: inside it.
  size_t i = 0;
  std::string dummy;
  for (; i < lines.size(); ++i) {
    if (Indent(lines[i]) == 0 && KeyLine(body(lines[i]), "tools", &dummy)) break;
  }
  if (i == lines.size()) return Error::Invalid("no top-level `tools:` key");
  size_t allowed_indent = 0;
  for (++i; i < lines.size(); ++i) {
    if (BlankOrComment(lines[i])) continue;
    if (Indent(lines[i]) == 0) return Error::Invalid("no `tools.allowed` list");
    std::string v;
    if (KeyLine(body(lines[i]), "allowed", &v)) {
      if (!v.empty()) {
        return Error::Invalid("tools.allowed is written in flow style; edit it by hand");
      }
      allowed_indent = Indent(lines[i]);
      break;
    }
  }
  if (i == lines.size()) return Error::Invalid("no `tools.allowed` list");
  // Items of the sequence.
  std::optional<size_t> dash;
  for (++i; i < lines.size(); ++i) {
    if (BlankOrComment(lines[i])) continue;
    const size_t ind = Indent(lines[i]);
    const std::string_view b = body(lines[i]);
    const bool is_item = b == "-" || b.starts_with("- ");
    if (ind < allowed_indent || (ind == allowed_indent && !is_item)) break;
    if (!dash) {
      if (!is_item) return Error::Invalid("tools.allowed is not a block sequence");
      dash = ind;
    }
    if (ind != *dash || !is_item) continue;
    // An item starts at line i; it ends before the next line indented <= dash.
    size_t end = i + 1;
    while (end < lines.size() && (BlankOrComment(lines[end]) || Indent(lines[end]) > *dash)) {
      ++end;
    }
    std::string_view rest = b.substr(1);
    size_t extra = 0;
    while (extra < rest.size() && rest[extra] == ' ') ++extra;
    rest.remove_prefix(extra);
    const size_t content = *dash + 1 + extra;
    std::string name;
    size_t name_line = i;
    bool bare = false;
    if (KeyLine(rest, "name", &name)) {
      // name on the dash line
    } else if (!rest.empty() && rest.find(": ") == std::string_view::npos && !rest.ends_with(":") &&
               rest.front() != '{') {
      name = Unquote(SplitComment(rest).first);
      bare = true;
    } else {
      for (size_t k = i + 1; k < end; ++k) {
        if (!BlankOrComment(lines[k]) && Indent(lines[k]) == content &&
            KeyLine(body(lines[k]), "name", &name)) {
          name_line = k;
          break;
        }
      }
    }
    if (name != tool) {
      i = end - 1;
      continue;
    }
    const std::string pad(content, ' ');
    const std::string nl = lines[i].ends_with("\r\n") ? "\r\n" : "\n";
    if (bare) {
      const auto [value, comment] = SplitComment(rest);
      lines[i] = std::string(*dash, ' ') + "-" + std::string(extra, ' ') + "name: " + value +
                 comment + nl + pad + "autonomy: " + stage + nl;
    } else {
      bool replaced = false;
      for (size_t k = i; k < end && !replaced; ++k) {
        std::string_view kb = k == i ? rest : body(lines[k]);
        if (k != i && (BlankOrComment(lines[k]) || Indent(lines[k]) != content)) continue;
        std::string old;
        if (!KeyLine(kb, "autonomy", &old)) continue;
        const size_t key_at = lines[k].size() - (kb.size() + (lines[k].ends_with("\r\n") ? 2
                                                              : lines[k].ends_with("\n") ? 1
                                                                                         : 0));
        std::string_view after = kb.substr(std::string_view("autonomy:").size());
        while (!after.empty() && after.front() == ' ') after.remove_prefix(1);
        const std::string comment = SplitComment(after).second;
        lines[k] = lines[k].substr(0, key_at) + "autonomy: " + stage + comment + nl;
        replaced = true;
      }
      if (!replaced) {
        if (!lines[name_line].ends_with("\n")) lines[name_line] += nl;
        lines.insert(lines.begin() + static_cast<long>(name_line) + 1,
                     pad + "autonomy: " + stage + nl);
      }
    }
    std::string out;
    for (const std::string& l : lines) out += l;
    return out;
  }
  return Error::NotFound("tool " + tool + " is not an entry of tools.allowed");
}

namespace {

// The agent's policy file with the tool's stage set to `to`, written beside it (the path of
// that copy), loaded back to check that it sets exactly that stage; nothing is written
// when it does not.
Result<std::string> WriteCheckedStage(const policy::AgentPolicy& agent, const PromoteRequest& rq,
                                      const std::string& to_name, policy::Autonomy to) {
  std::ifstream in(agent.file, std::ios::binary);
  if (!in) return Error::Unavailable("cannot read " + agent.file);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string original = buf.str();
  Result<std::string> edited = SetToolAutonomyText(original, rq.tool, to_name);
  if (!edited.ok()) {
    return Error::Invalid("cannot edit " + agent.file + ": " + edited.error().message);
  }
  const std::string tmp = agent.file + ".interlock-tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    o << *edited;
    if (!o.flush()) return Error::Unavailable("cannot write " + tmp);
  }
  std::vector<policy::Diagnostic> d2;
  Result<std::shared_ptr<const policy::PolicySet>> check = policy::LoadPolicySet({tmp}, &d2);
  const policy::AgentPolicy* changed = check.ok() ? (*check)->Find(rq.agent_id) : nullptr;
  const policy::ToolRule* crule = nullptr;
  if (changed != nullptr) {
    crule = changed->Resolve(rq.tool).rule;
  }
  if (crule == nullptr || crule->autonomy.value_or(changed->autonomy) != to) {
    std::remove(tmp.c_str());
    return Error::Internal("the edited policy " +
                           (check.ok() ? std::string("does not set the new stage")
                                       : "does not load:\n" + check.error().message) +
                           "; nothing was written");
  }
  return tmp;
}

}  // namespace

Result<PromoteOutcome> PromoteTool(core::Store& store, const PromoteRequest& rq) {
  const std::optional<policy::Autonomy> to = ParseStage(rq.to_stage);
  if (!to) {
    return Error::Invalid("--to must be gate_all, exception_based or audit_based, got " +
                          rq.to_stage);
  }
  if (rq.reviewer.empty()) return Error::Invalid("--reviewer is required");
  std::vector<policy::Diagnostic> diags;
  Result<std::shared_ptr<const policy::PolicySet>> set =
      policy::LoadPolicySet({rq.policy_path}, &diags);
  if (!set.ok()) return Error::Invalid("the policy does not load:\n" + set.error().message);
  const policy::AgentPolicy* agent = (*set)->Find(rq.agent_id);
  if (agent == nullptr) return Error::NotFound("no agent " + rq.agent_id + " in " + rq.policy_path);
  const policy::ToolResolution res = agent->Resolve(rq.tool);
  if (res.rule == nullptr) {
    return Error::NotFound("tool " + rq.tool + " is not allowed for agent " + rq.agent_id +
                           "; only allowed tools have a stage");
  }
  if (res.entry != rq.tool) {
    // The stage is written on the entry; promoting a pattern would promote every tool it
    // matches, which is not what was asked.
    return Error::Invalid("tool " + rq.tool + " is allowed by the pattern entry \"" +
                          std::string(res.entry) + "\" of agent " + rq.agent_id +
                          "; give it its own entry in tools.allowed to change its stage");
  }
  const policy::Autonomy from = res.rule->autonomy.value_or(agent->autonomy);
  PromoteOutcome out;
  out.from = policy::AutonomyName(from);
  out.to = policy::AutonomyName(*to);
  out.file = agent->file;

  TrustOptions topt;
  topt.agent_id = rq.agent_id;
  Result<TrustEvidence> ev = CollectTrustEvidence(store, topt);
  if (!ev.ok()) return ev.error();
  ToolEvidence e;
  if (auto it = ev->tools.find({rq.agent_id, rq.tool}); it != ev->tools.end()) e = it->second;
  const std::string evidence_text =
      std::to_string(e.clean_since_reset) + " clean completions since the last incident reset (" +
      std::to_string(e.clean) + " in all), " + std::to_string(e.incidents) + " incidents, " +
      std::to_string(e.denials) + " denials; threshold " + std::to_string(agent->trust_threshold);
  if (from == *to) {
    out.message = rq.agent_id + "/" + rq.tool + " is already at " + out.to + "; nothing changed";
    return out;
  }
  const bool promotion = Rank(*to) > Rank(from);
  if (auto bad = ev->unreadable.find(rq.agent_id); promotion && bad != ev->unreadable.end()) {
    out.refused = true;
    out.message = "refused: promoting " + rq.agent_id + "/" + rq.tool + " from " + out.from +
                  " to " + out.to + ": " + std::to_string(bad->second) + " decision record(s) of " +
                  rq.agent_id +
                  " could not be read, and each may be a denial or a failure of this tool (check "
                  "the log with `interlock audit verify --deep`); evidence: " +
                  evidence_text;
    return out;
  }
  if (promotion && e.clean_since_reset < agent->trust_threshold) {
    out.refused = true;
    out.message =
        "refused: promoting " + rq.agent_id + "/" + rq.tool + " from " + out.from + " to " +
        out.to + " needs " + std::to_string(agent->trust_threshold) +
        " clean completions with zero incidents since the last reset; evidence: " + evidence_text;
    return out;
  }

  Result<std::string> tmp = WriteCheckedStage(*agent, rq, out.to, *to);
  if (!tmp.ok()) return tmp.error();

  json::object evidence = EvidenceJson(e);
  evidence["threshold"] = agent->trust_threshold;
  std::vector<audit::AuditEvent> records;
  records.push_back(audit::AuditEvent{audit::kTrustChanged, rq.now, "", "", rq.agent_id,
                                      rq.reviewer,
                                      json::object{{"agent_id", rq.agent_id},
                                                   {"tool", rq.tool},
                                                   {"from", out.from},
                                                   {"to", out.to},
                                                   {"reviewer", rq.reviewer},
                                                   {"evidence", std::move(evidence)},
                                                   {"policy_file", agent->file}}});
  // The reviewed file takes effect only after its record is durable: a promotion never
  // widens access unrecorded (the daemons load the file as soon as it changes). Should
  // the file then not be replaced, the trail holds a change that did not happen, and the
  // error says so: the safe side of the two.
  if (Status s = store.AppendRecords(std::move(records)); !s.ok()) {
    std::remove(tmp->c_str());
    return Error{s.error().kind, "the trust change could not be recorded (" + s.error().message +
                                     "); " + agent->file + " was not changed"};
  }
  if (std::rename(tmp->c_str(), agent->file.c_str()) != 0) {
    std::remove(tmp->c_str());
    return Error::Unavailable("cannot replace " + agent->file +
                              ": the trust_changed record was written, but the policy file was "
                              "not changed (the change did not take effect)");
  }
  out.message = std::string(promotion ? "promoted " : "demoted ") + rq.agent_id + "/" + rq.tool +
                " from " + out.from + " to " + out.to + " in " + agent->file +
                " (evidence: " + evidence_text + ")";
  return out;
}

}  // namespace interlock::governance
