// Governance (issue 7) end to end: audit trails are built by a real core::Guard over a
// real store::SqliteStore with a policy loaded from YAML (the daemon's decision path),
// results recorded with RecordResult; then the `interlock` program is run on the store.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/app/policy_source.h"
#include "core/guard.h"
#include "doors/egress/principal.h"
#include "governance/trust.h"
#include "policy/loader.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_store.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

constexpr const char* kAgent = "ops-agent";

constexpr const char* kPolicy = R"(# Ops agent test policy: comments must survive a promotion.
agent:
  id: "ops-agent"
  identity: "ops@test.iam"
  autonomy: exception_based

tools:
  allowed:
    # Reads customer rows.
    - name: "read_record"
      scope: ["id", "name", "email"]

    - name: "update_status"   # status changes
      constraints:
        allowed_statuses: ["open", "closed", "archived"]

    - "list_items"   # bare entry

    - name: "export_data"
  blocked:
    - "delete_all"

execution:
  max_steps: 25
  max_tokens_per_run: 50000
  max_wall_clock_seconds: 120
  max_cost_usd: 2.00

trust:
  graduation_threshold: 5
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

std::string Bin() { return std::string(INTERLOCK_BINARY_DIR) + "/interlock"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CallSpec {
  std::string tool;
  json::object args;
};

// The recorded history: two runs of ops-agent (call ids kept in order).
struct History {
  std::string store;
  std::vector<std::string> call_ids;  // in decision order
  std::vector<std::string> codes;
};

History Build(const TempDir& dir, const std::string& policy_path) {
  History h;
  h.store = dir.path() + "/interlock.db";
  auto set = policy::LoadPolicySet({policy_path}, nullptr);
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  core::PolicySource source(*set);
  ManualClock clock(SystemClock().Now() - std::chrono::hours(2));
  store::StoreOptions o;
  o.path = h.store;
  o.durable_full = false;
  o.audit_key = "test-audit-key";
  o.clock = &clock;
  auto st = store::SqliteStore::Open(o);
  EXPECT_TRUE(st.ok());
  auto& s = *st;
  core::Guard guard(&source, s.get(), &clock, nullptr);
  auto run = [&](const std::vector<CallSpec>& calls) {
    auto r = s->CreateRun(kAgent, "", clock.Now());
    EXPECT_TRUE(r.ok());
    for (const CallSpec& c : calls) {
      clock.Advance(std::chrono::seconds(1));
      ToolCall call;
      call.tool = c.tool;
      call.args = c.args;
      call.usage = Usage{100, 1000};
      core::GuardResponse g = guard.Decide(kAgent, kAgent, r->run_id, std::move(call));
      h.call_ids.push_back(g.call_id);
      h.codes.push_back(std::string(CodeName(g.decision.code)));
      if (g.decision.allowed()) {
        core::CallResult res;
        res.ok = true;
        res.output_json = "{}";
        EXPECT_TRUE(s->RecordResult(g.call_id, kAgent, kAgent, res, clock.Now()).ok());
      }
    }
  };
  const json::object fields_in{{"id", "C-1"}, {"fields", json::array{"id", "name"}}};
  const json::object fields_id{{"id", "C-2"}, {"fields", json::array{"id"}}};
  run({{"read_record", fields_in},
       {"read_record", fields_in},
       {"update_status", {{"status", "open"}}},
       {"read_record", fields_in},
       {"update_status", {{"status", "open"}}},
       {"update_status", {{"status", "bogus"}}},
       {"list_items", {}},
       {"delete_all", {}}});
  run({{"read_record", fields_id}, {"read_record", fields_id}, {"read_record", fields_id}});
  return h;
}

struct Env {
  TempDir dir;
  std::string policy = dir.Write("ops-agent.yaml", kPolicy);
  History h = Build(dir, policy);
};

json::value RunJson(const std::vector<std::string>& argv, int want_exit) {
  ProcessResult r = RunProcess(argv);
  EXPECT_EQ(r.exit_code, want_exit) << r.out << r.err;
  boost::system::error_code ec;
  json::value v = json::parse(r.out, ec);
  EXPECT_FALSE(ec) << r.out << r.err;
  return v;
}

std::set<std::string> ChangedCalls(const json::value& v) {
  std::set<std::string> out;
  for (const json::value& c : v.at("changes").as_array()) {
    out.insert(std::string(c.at("call_id").as_string()));
  }
  return out;
}

// Tests that the history the tests rely on is what the real decision path produced.
TEST(GovernanceTest, HistoryIsRecordedByTheRealGuard) {
  Env e;
  ASSERT_EQ(e.h.codes.size(), 11u);
  EXPECT_EQ(e.h.codes[5], "CONSTRAINT_VIOLATED");
  EXPECT_EQ(e.h.codes[7], "TOOL_BLOCKED");
  EXPECT_EQ(e.h.codes[6], "ALLOWED");
}

// Tests that drift finds exactly the unused grants: one tool, two values, one scope
// field, and step headroom 8 of 25 (the evidence minimum lowered to these two runs).
TEST(GovernanceTest, DriftFindsExactlyTheUnusedGrants) {
  Env e;
  json::value v = RunJson({Bin(), "drift", "--days", "30", "--policy", e.policy, "--store",
                           e.h.store, "--format", "json", "--min-runs", "2", "--min-days", "0"},
                          0);
  const json::object& a = v.at("agents").as_array().at(0).as_object();
  EXPECT_EQ(a.at("calls").to_number<uint64_t>(), 11u);
  EXPECT_EQ(a.at("evidence").at("runs").to_number<uint64_t>(), 2u);
  EXPECT_TRUE(a.at("evidence").at("enough").as_bool());
  EXPECT_EQ(json::serialize(a.at("unused_tools")), R"(["export_data"])");
  const json::object& uv = a.at("unused_values").as_array().at(0).as_object();
  EXPECT_EQ(uv.at("tool").as_string(), "update_status");
  EXPECT_EQ(json::serialize(uv.at("values")), R"(["\"closed\"","\"archived\""])");
  EXPECT_EQ(a.at("unused_values").as_array().size(), 1u);
  EXPECT_EQ(json::serialize(a.at("unused_scope_fields")),
            R"([{"tool":"read_record","fields":["email"]}])");
  const json::object& steps = a.at("budgets").as_array().at(0).as_object();
  EXPECT_EQ(steps.at("budget").as_string(), "execution.max_steps");
  EXPECT_EQ(steps.at("used").to_number<double>(), 8.0);
  EXPECT_EQ(steps.at("limit").to_number<double>(), 25.0);
  // Runs of 8 and 3 steps: p99 8, so max(8 x 1.5, 8 x 2) = 16.
  EXPECT_EQ(steps.at("suggested").to_number<double>(), 16.0);
  EXPECT_FALSE(a.at("never_used").as_bool());
}

// Tests that a policy never used in the window is reported as such.
TEST(GovernanceTest, DriftReportsAPolicyNeverUsed) {
  Env e;
  std::string other = kPolicy;
  other.replace(other.find("\"ops-agent\""), 11, "\"idle-agent\"");
  other.replace(other.find("ops@test.iam"), 12, "idl@test.iam");
  const std::string dir = e.dir.path() + "/both";
  ASSERT_TRUE(std::filesystem::create_directory(dir));
  std::ofstream(dir + "/ops.yaml") << kPolicy;
  std::ofstream(dir + "/idle.yaml") << other;
  json::value v =
      RunJson({Bin(), "drift", "--policy", dir, "--store", e.h.store, "--format", "json"}, 0);
  int never = 0;
  for (const json::value& a : v.at("agents").as_array()) {
    if (a.at("never_used").as_bool()) {
      ++never;
      EXPECT_EQ(a.at("agent_id").as_string(), "idle-agent");
    }
  }
  EXPECT_EQ(never, 1);
}

// Tests that the suggested policy loads, passes `interlock check`, and replays with no
// change for the calls that were allowed (here: no change at all).
TEST(GovernanceTest, SuggestedPolicyReplaysClean) {
  Env e;
  const std::string out = e.dir.path() + "/suggested.yaml";
  ProcessResult d = RunProcess({Bin(), "drift", "--days", "30", "--policy", e.policy, "--store",
                                e.h.store, "--suggest", out, "--min-runs", "2", "--min-days", "0"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const std::string text = ReadFile(out);
  EXPECT_EQ(text.find("export_data"), std::string::npos) << text;
  EXPECT_EQ(text.find("archived"), std::string::npos) << text;
  EXPECT_EQ(text.find("email"), std::string::npos) << text;
  EXPECT_NE(text.find("max_steps: 16"), std::string::npos) << text;
  EXPECT_NE(text.find("from 2 runs over 0 days"), std::string::npos) << text;
  EXPECT_EQ(RunProcess({Bin(), "check", out}).exit_code, 0);
  json::value v = RunJson({Bin(), "replay", "--what-if", "--policy", out, "--since", "30d",
                           "--store", e.h.store, "--format", "json"},
                          0);
  EXPECT_EQ(v.at("evaluated").to_number<uint64_t>(), 11u);
  EXPECT_EQ(v.at("changed").to_number<uint64_t>(), 0u);
}

// Tests that drift suggests nothing from too little history (here two short runs; the
// bug: one 4-call run cut max_steps from 50 to 5): it states the evidence, says it is too
// little, leaves every budget unsuggested, and --suggest writes no file (exit 1).
TEST(GovernanceTest, DriftSuggestsNothingOnTooLittleEvidence) {
  Env e;
  json::value v = RunJson({Bin(), "drift", "--days", "30", "--policy", e.policy, "--store",
                           e.h.store, "--format", "json"},
                          0);
  const json::object& a = v.at("agents").as_array().at(0).as_object();
  EXPECT_EQ(a.at("evidence").at("runs").to_number<uint64_t>(), 2u);
  EXPECT_LT(a.at("evidence").at("days").to_number<double>(), 1.0);
  EXPECT_FALSE(a.at("evidence").at("enough").as_bool());
  EXPECT_EQ(a.at("evidence").at("min_runs").to_number<uint64_t>(), 20u);
  for (const json::value& b : a.at("budgets").as_array()) {
    EXPECT_TRUE(b.at("suggested").is_null()) << json::serialize(b);
  }
  ProcessResult text =
      RunProcess({Bin(), "drift", "--days", "30", "--policy", e.policy, "--store", e.h.store});
  EXPECT_NE(text.out.find("evidence: 2 run(s)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("too little"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("-> suggest"), std::string::npos) << text.out;
  const std::string out = e.dir.path() + "/suggested.yaml";
  ProcessResult d = RunProcess({Bin(), "drift", "--days", "30", "--policy", e.policy, "--store",
                                e.h.store, "--suggest", out});
  EXPECT_EQ(d.exit_code, 1) << d.err;
  EXPECT_NE(d.err.find("too little evidence"), std::string::npos) << d.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// Tests that with enough evidence (20 runs over 8 days, the largest 4 steps) max_steps
// keeps headroom over the largest run: 50 becomes max(4 x 1.5, p99 4 x 2) = 8, not 5.
TEST(GovernanceTest, DriftBudgetKeepsHeadroomOverTheLargestRun) {
  TempDir dir;
  const std::string policy =
      dir.Write("ops-agent.yaml", Replace(kPolicy, "max_steps: 25", "max_steps: 50"));
  auto set = policy::LoadPolicySet({policy}, nullptr);
  ASSERT_TRUE(set.ok());
  core::PolicySource source(*set);
  ManualClock clock(SystemClock().Now() - std::chrono::hours(24 * 8));
  store::StoreOptions o;
  o.path = dir.path() + "/interlock.db";
  o.durable_full = false;
  o.audit_key = "test-audit-key";
  o.clock = &clock;
  auto st = store::SqliteStore::Open(o);
  ASSERT_TRUE(st.ok());
  core::Guard guard(&source, st->get(), &clock, nullptr);
  for (int run = 0; run < 20; ++run) {
    auto r = (*st)->CreateRun(kAgent, "", clock.Now());
    ASSERT_TRUE(r.ok());
    for (int i = 0; i < (run == 7 ? 4 : 2); ++i) {
      ToolCall call;
      call.tool = "list_items";
      guard.Decide(kAgent, kAgent, r->run_id, std::move(call));
      clock.Advance(std::chrono::seconds(1));
    }
    clock.Advance(std::chrono::hours(10));  // 20 runs x 10 h: 7.9 days first to last
  }
  st->reset();
  json::value v = RunJson(
      {Bin(), "drift", "--days", "30", "--policy", policy, "--store", o.path, "--format", "json"},
      0);
  const json::object& a = v.at("agents").as_array().at(0).as_object();
  EXPECT_EQ(a.at("evidence").at("runs").to_number<uint64_t>(), 20u);
  EXPECT_GE(a.at("evidence").at("days").to_number<double>(), 7.0);
  EXPECT_TRUE(a.at("evidence").at("enough").as_bool());
  const json::object& steps = a.at("budgets").as_array().at(0).as_object();
  EXPECT_EQ(steps.at("used").to_number<double>(), 4.0);
  EXPECT_EQ(steps.at("p99").to_number<double>(), 4.0);
  EXPECT_EQ(steps.at("suggested").to_number<double>(), 8.0);
}

// Tests that what-if reports exactly the changed calls when an allowed tool is blocked,
// with exit status 1, and exit 0 for the unchanged policy, 2 for a broken one.
TEST(GovernanceTest, WhatIfReportsExactlyTheChangedCalls) {
  Env e;
  std::string blocked = Replace(kPolicy,
                                "    - name: \"update_status\"   # status changes\n"
                                "      constraints:\n"
                                "        allowed_statuses: [\"open\", \"closed\", \"archived\"]\n",
                                "");
  blocked =
      Replace(blocked, "    - \"delete_all\"\n", "    - \"delete_all\"\n    - \"update_status\"\n");
  const std::string p = e.dir.Write("blocked.yaml", blocked);
  json::value v = RunJson(
      {Bin(), "replay", "--what-if", "--policy", p, "--store", e.h.store, "--format", "json"}, 1);
  EXPECT_EQ(ChangedCalls(v),
            (std::set<std::string>{e.h.call_ids[2], e.h.call_ids[4], e.h.call_ids[5]}));
  EXPECT_EQ(json::serialize(v.at("totals")),
            R"([{"from":"ALLOWED","to":"TOOL_BLOCKED","count":2},)"
            R"({"from":"CONSTRAINT_VIOLATED","to":"TOOL_BLOCKED","count":1}])");

  EXPECT_EQ(RunProcess({Bin(), "replay", "--what-if", "--policy", e.policy, "--store", e.h.store})
                .exit_code,
            0);
  const std::string bad = e.dir.Write("bad.yaml", "agent: [");
  EXPECT_EQ(
      RunProcess({Bin(), "replay", "--what-if", "--policy", bad, "--store", e.h.store}).exit_code,
      2);
}

// Tests that lowering max_steps changes exactly the calls made at or past the new cap.
TEST(GovernanceTest, WhatIfLoweringMaxStepsChangesLateCalls) {
  Env e;
  const std::string lower = Replace(kPolicy, "max_steps: 25", "max_steps: 5");
  const std::string p = e.dir.Write("lower.yaml", lower);
  json::value v = RunJson({Bin(), "replay", "--what-if", "--policy", p, "--agent", kAgent,
                           "--store", e.h.store, "--format", "json"},
                          1);
  // Run 1's sixth, seventh and eighth calls saw 5, 6 and 7 steps; run 2 made three.
  EXPECT_EQ(ChangedCalls(v),
            (std::set<std::string>{e.h.call_ids[5], e.h.call_ids[6], e.h.call_ids[7]}));
  for (const json::value& c : v.at("changes").as_array()) {
    EXPECT_EQ(c.at("new").at("code").as_string(), "BUDGET_EXCEEDED");
  }
}

// A run with the egress proxy's connections (issue 16) and a rehearsed call, recorded by the
// real Guard: egress decisions under the proxy's principal, a REHEARSAL_REQUIRED decision,
// its rehearsal's outcome and the real call's decision.
constexpr const char* kContainedPolicy = R"(agent: {id: "box-agent"}
tools:
  allowed:
    - name: "deploy"
      rehearse: {args: {dry_run: true}}
    - "probe"
egress:
  allow: ["127.0.0.1:8080"]
)";

struct ContainedHistory {
  std::string store;
  std::string egress_allowed, egress_denied, deploy_pending, deploy_real;
};

ContainedHistory BuildContained(const TempDir& dir, const std::string& policy_path) {
  ContainedHistory h;
  h.store = dir.path() + "/contained.db";
  auto set = policy::LoadPolicySet({policy_path}, nullptr);
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  core::PolicySource source(*set);
  ManualClock clock(SystemClock().Now() - std::chrono::hours(1));
  store::StoreOptions o;
  o.path = h.store;
  o.durable_full = false;
  o.audit_key = "test-audit-key";
  o.clock = &clock;
  auto st = store::SqliteStore::Open(o);
  EXPECT_TRUE(st.ok());
  auto& s = *st;
  core::Guard guard(&source, s.get(), &clock, nullptr);
  auto run = s->CreateRun("box-agent", "", clock.Now());
  EXPECT_TRUE(run.ok());
  ToolCall probe;
  probe.tool = "probe";
  core::GuardResponse p = guard.Decide("box-agent", "box-agent", run->run_id, std::move(probe));
  EXPECT_EQ(p.decision.code, Code::kAllowed);
  auto egress = [&](uint16_t port) {
    clock.Advance(std::chrono::seconds(1));
    ToolCall c;
    c.kind = CallKind::kEgress;
    c.tool = kEgressToolName;
    c.args = {{"host", "127.0.0.1"},
              {"port", static_cast<int64_t>(port)},
              {"address", "127.0.0.1"},
              {"call_id", p.call_id}};
    return guard.Decide("box-agent", egress::kEgressPrincipal, run->run_id, std::move(c));
  };
  core::GuardResponse a = egress(8080);
  EXPECT_EQ(a.decision.code, Code::kAllowed) << a.decision.reason;
  core::GuardResponse d = egress(9090);
  EXPECT_EQ(d.decision.code, Code::kEgressDenied) << d.decision.reason;
  h.egress_allowed = a.call_id;
  h.egress_denied = d.call_id;
  core::CallResult res;
  res.ok = true;
  res.output_json = "{}";
  EXPECT_TRUE(s->RecordResult(p.call_id, "box-agent", "box-agent", res, clock.Now()).ok());

  clock.Advance(std::chrono::seconds(1));
  ToolCall deploy;
  deploy.tool = "deploy";
  deploy.args = {{"target", "prod"}};
  core::GuardResponse pending =
      guard.Decide("box-agent", "box-agent", run->run_id, std::move(deploy));
  EXPECT_EQ(pending.decision.code, Code::kRehearsalRequired) << pending.decision.reason;
  h.deploy_pending = pending.call_id;
  clock.Advance(std::chrono::seconds(1));
  core::CallResult rehearsal;
  rehearsal.ok = true;
  rehearsal.output_json = R"({"would_delete":0})";
  core::GuardResponse real =
      guard.CompleteRehearsal("box-agent", "box-agent", pending.call_id, rehearsal, std::nullopt);
  EXPECT_EQ(real.decision.code, Code::kAllowed) << real.decision.reason;
  h.deploy_real = real.call_id;
  return h;
}

// Tests that what-if re-judges the egress proxy's connections against egress.allow (not as
// a tool named "egress") and a rehearsed call with its recorded rehearsal outcome, so the
// policy the run was recorded under shows no change at all.
TEST(WhatIf, SamePolicyShowsNoChangeForEgressAndRehearsal) {
  TempDir dir;
  const std::string policy = dir.Write("box.yaml", kContainedPolicy);
  ContainedHistory h = BuildContained(dir, policy);
  json::value v = RunJson({Bin(), "replay", "--what-if", "--policy", policy, "--store", h.store,
                           "--since", "30d", "--format", "json"},
                          0);
  EXPECT_EQ(v.at("changes").as_array().size(), 0u) << json::serialize(v);
  EXPECT_EQ(v.at("evaluated").to_number<int64_t>(), 5) << json::serialize(v);
}

// Tests that removing the egress.allow entry a connection was allowed by shows exactly that
// connection as a change (ALLOWED -> EGRESS_DENIED), and nothing else.
TEST(WhatIf, RemovingTheEgressAllowEntryShowsTheConnectionAsAChange) {
  TempDir dir;
  const std::string policy = dir.Write("box.yaml", kContainedPolicy);
  ContainedHistory h = BuildContained(dir, policy);
  const std::string p = dir.Write(
      "tight.yaml",
      Replace(kContainedPolicy, "allow: [\"127.0.0.1:8080\"]", "allow: [\"127.0.0.1:7070\"]"));
  json::value v = RunJson({Bin(), "replay", "--what-if", "--policy", p, "--store", h.store,
                           "--since", "30d", "--format", "json"},
                          1);
  EXPECT_EQ(ChangedCalls(v), (std::set<std::string>{h.egress_allowed})) << json::serialize(v);
  EXPECT_EQ(json::serialize(v.at("totals")),
            R"([{"from":"ALLOWED","to":"EGRESS_DENIED","count":1}])");
}

// Tests that promoting a tool allowed only by a pattern entry is refused and leaves the file
// alone: changing the pattern's stage would promote every tool it matches.
TEST(GovernanceTest, PromotionOfAToolAllowedByAPatternIsRefused) {
  Env e;
  const std::string policy = e.dir.Write(
      "pattern.yaml", Replace(kPolicy, "- name: \"export_data\"", "- name: \"export_*\""));
  const std::string before = ReadFile(policy);
  ProcessResult r =
      RunProcess({Bin(), "trust", "promote", "--agent", kAgent, "--tool", "export_data", "--to",
                  "audit_based", "--reviewer", "rita", "--policy", policy, "--store", e.h.store});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("allowed by the pattern entry \"export_*\""), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(policy), before);
}

// Tests that promotion is refused below the threshold and accepted above it, that the
// promoted policy keeps its comments and passes `interlock check`, that demotion needs
// no evidence (and converts a bare entry), and that the audit chain stays intact.
TEST(GovernanceTest, PromotionNeedsEvidenceAndKeepsTheFile) {
  Env e;
  auto promote = [&](const std::string& tool, const std::string& to) {
    return RunProcess({Bin(), "trust", "promote", "--agent", kAgent, "--tool", tool, "--to", to,
                       "--reviewer", "rita", "--policy", e.policy, "--store", e.h.store});
  };
  const std::string before = ReadFile(e.policy);
  ProcessResult refused = promote("update_status", "audit_based");
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("2 clean completions"), std::string::npos) << refused.err;
  EXPECT_EQ(ReadFile(e.policy), before);

  ProcessResult ok = promote("read_record", "audit_based");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const std::string after = ReadFile(e.policy);
  EXPECT_NE(after.find("# Reads customer rows."), std::string::npos);
  EXPECT_NE(after.find("    - name: \"read_record\"\n      autonomy: audit_based\n"),
            std::string::npos)
      << after;
  EXPECT_EQ(RunProcess({Bin(), "check", e.policy}).exit_code, 0);

  ProcessResult demote = promote("list_items", "gate_all");
  ASSERT_EQ(demote.exit_code, 0) << demote.err;
  EXPECT_NE(ReadFile(e.policy).find("    - name: \"list_items\"   # bare entry\n"
                                    "      autonomy: gate_all\n"),
            std::string::npos)
      << ReadFile(e.policy);
  EXPECT_EQ(RunProcess({Bin(), "check", e.policy}).exit_code, 0);

  // Two trust_changed records, chain intact.
  EXPECT_EQ(RunProcess({Bin(), "audit", "verify", "--store", e.h.store}).exit_code, 0);
  json::value report = RunJson(
      {Bin(), "trust", "report", "--policy", e.policy, "--store", e.h.store, "--format", "json"},
      0);
  for (const json::value& t : report.at("tools").as_array()) {
    if (t.at("tool").as_string() == "read_record") {
      EXPECT_EQ(t.at("stage").as_string(), "audit_based");
    }
  }
}

// Tests that an incident resets eligibility: read_record (6 clean, threshold 5) is
// eligible, then not after `incident mark`, and its promotion is refused.
TEST(GovernanceTest, IncidentResetsEligibility) {
  Env e;
  auto eligible = [&] {
    json::value r = RunJson(
        {Bin(), "trust", "report", "--policy", e.policy, "--store", e.h.store, "--format", "json"},
        0);
    for (const json::value& t : r.at("tools").as_array()) {
      if (t.at("tool").as_string() == "read_record") {
        EXPECT_EQ(t.at("stage").as_string(), "exception_based");
        return t.at("eligible").as_bool();
      }
    }
    ADD_FAILURE() << "no read_record row";
    return false;
  };
  EXPECT_TRUE(eligible());
  ProcessResult m = RunProcess({Bin(), "incident", "mark", e.h.call_ids[0], "--reason",
                                "read the wrong customer", "--by", "rita", "--store", e.h.store});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_FALSE(eligible());
  ProcessResult p =
      RunProcess({Bin(), "trust", "promote", "--agent", kAgent, "--tool", "read_record", "--to",
                  "audit_based", "--reviewer", "rita", "--policy", e.policy, "--store", e.h.store});
  EXPECT_EQ(p.exit_code, 1) << p.err;
  EXPECT_EQ(RunProcess({Bin(), "audit", "verify", "--store", e.h.store}).exit_code, 0);
  EXPECT_EQ(RunProcess({Bin(), "incident", "mark", "call_nope", "--reason", "x", "--by", "rita",
                        "--store", e.h.store})
                .exit_code,
            1);
}

// Tests approval-fatigue figures on exact, hand-timed approval records (sub-second
// grants); governance_daemon_test.cc covers the same through real daemon approvals.
TEST(GovernanceTest, ApprovalFatigueFlagsFastReviewers) {
  Env e;
  auto db = audit::OpenAuditStore(e.h.store, false);
  ASSERT_TRUE(db.ok());
  std::vector<audit::AuditEvent> events;
  const TimePoint t0 = SystemClock().Now() - std::chrono::minutes(30);
  for (int i = 0; i < 4; ++i) {
    const std::string id = "apr_" + std::to_string(i);
    const TimePoint at = t0 + std::chrono::seconds(60 * i);
    const bool fast = i < 3;
    events.push_back({audit::kApproval, at, "run", e.h.call_ids[i], kAgent, kAgent,
                      json::object{{"event", "requested"}, {"approval_id", id}}});
    events.push_back({audit::kApproval,
                      at + (fast ? std::chrono::milliseconds(500) : std::chrono::seconds(40)),
                      "run", e.h.call_ids[i], kAgent, fast ? "speedy" : "careful",
                      json::object{{"event", "granted"},
                                   {"approval_id", id},
                                   {"reviewer", fast ? "speedy" : "careful"},
                                   {"comment", ""}}});
  }
  {
    audit::Transaction tx(db->get());
    ASSERT_TRUE(tx.Begin().ok());
    ASSERT_TRUE(audit::AppendAuditEvents(db->get(), events).ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  json::value r = RunJson(
      {Bin(), "trust", "report", "--policy", e.policy, "--store", e.h.store, "--format", "json"},
      0);
  std::map<std::string, bool> flagged;
  for (const json::value& rv : r.at("reviewers").as_array()) {
    flagged[std::string(rv.at("reviewer").as_string())] = rv.at("flagged").as_bool();
  }
  EXPECT_TRUE(flagged.at("speedy"));
  EXPECT_FALSE(flagged.at("careful"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
