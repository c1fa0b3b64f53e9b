#include "core/ports/store.h"

#include <cstdio>

#include "core/approval_rules.h"
#include "core/run_txn.h"
#include "policy/policy.h"

namespace interlock::core {

boost::json::object RunStartedData(const RunWorkspace& w) {
  boost::json::object o;
  if (!w.workspace.empty()) o["workspace"] = w.workspace;
  if (!w.refused.empty()) o["workspace_refused"] = w.refused;
  return o;
}

audit::AuditEvent KillSwitchEvent(const KillEntry& e) {
  audit::AuditEvent ev{
      audit::kKillSwitch,
      e.at,
      "",
      "",
      "",
      e.actor,
      boost::json::object{
          {"scope", e.scope}, {"target", e.target}, {"engaged", e.engaged}, {"reason", e.reason}}};
  if (e.engaged && e.end_runs) ev.data["end_runs"] = true;
  if (e.scope == "run") ev.run_id = e.target;
  if (e.scope == "agent") ev.agent_id = e.target;
  return ev;
}

Status AnchorFailed(AnchorNeed need, int64_t seq, const Error& error,
                    std::atomic<uint64_t>* failures) {
  if (need == AnchorNeed::kRequired) {
    return Error::Unavailable(
        "the audit record could not be anchored by a signed checkpoint, so the action was "
        "refused (it would widen access with its record unanchored): " +
        error.message);
  }
  const uint64_t n = failures->fetch_add(1) + 1;
  std::fprintf(stderr,
               "interlock: audit: record seq %lld committed WITHOUT its signed checkpoint "
               "(%llu anchoring failures so far): %s\n",
               static_cast<long long>(seq), static_cast<unsigned long long>(n),
               error.message.c_str());
  return Status::Ok();
}

audit::AuditEvent PolicyLoadEvent(const PolicyLoad& load) {
  const bool loaded = load.error.empty();
  boost::json::object data{{"why", load.why}};
  if (loaded) {
    data["sha256"] = load.sha256;
    data["agents"] = load.agents;
  } else {
    data["error"] = load.error.size() > kMaxResultOutputBytes
                        ? TruncateUtf8(load.error, kMaxResultOutputBytes) + "...[truncated]"
                        : load.error;
  }
  return audit::AuditEvent{loaded ? audit::kPolicyLoaded : audit::kPolicyRejected,
                           load.at,
                           "",
                           "",
                           "",
                           load.principal,
                           std::move(data)};
}

audit::AuditEvent AuthFailuresEvent(const AuthFailures& failures) {
  boost::json::object reasons;
  for (const auto& [why, n] : failures.reasons) reasons[why] = n;
  boost::json::object data{{"count", failures.count},
                           {"reasons", std::move(reasons)},
                           {"first", FormatRfc3339(failures.first)},
                           {"last", FormatRfc3339(failures.last)}};
  // Only when there are some: records of token failures keep their shape.
  if (!failures.sign_ins.empty()) {
    boost::json::array sign_ins;
    for (const RefusedSignIn& r : failures.sign_ins) {
      sign_ins.push_back(boost::json::object{{"code", r.code},
                                             {"principal", r.principal},
                                             {"issuer", r.issuer},
                                             {"at", FormatRfc3339(r.at)}});
    }
    data["sign_ins"] = std::move(sign_ins);
  }
  return audit::AuditEvent{audit::kAuthFailed, failures.last, "", "", "", "", std::move(data)};
}

audit::AuditEvent SignInEvent(const SignIn& s) {
  boost::json::object data{{"issuer", s.issuer}, {"subject", s.subject}};
  if (!s.signed_out) {
    boost::json::array groups;
    for (const std::string& g : s.groups) groups.emplace_back(g);
    data["role"] = s.role;
    data["groups"] = std::move(groups);
    data["expires_at"] = FormatRfc3339(s.expires_at);
  }
  return audit::AuditEvent{s.signed_out ? audit::kSignedOut : audit::kSignedIn,
                           s.at,
                           "",
                           "",
                           "",
                           s.principal,
                           std::move(data)};
}

const char* RunListStateName(const RunInfo& run) {
  if (run.state.halted) return "halted";
  return run.ended ? "ended" : "active";
}

}  // namespace interlock::core
