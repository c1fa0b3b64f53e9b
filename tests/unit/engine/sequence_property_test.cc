// Tests the labels a tool declares for itself (ToolCall::declared_labels: MCP annotations
// through the gateway) and properties of the rules over sequences that must hold for any
// sequence of calls and results: no sequence makes a blocked tool allowed, a call that
// does not proceed changes no workflow state, variable or label, declared labels never make
// a decision looser, and the order of earlier calls does not matter for flows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/call_parser.h"
#include "engine/engine.h"
#include "policy/loader.h"
#include "seed_policy.h"

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

using ::interlock::testing::TestNow;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// `web` writes no labels (it takes what it declares); `note` writes `labels: []` (the
// policy says none, whatever it declares).
constexpr char kLab[] = R"(
agent: {id: "lab"}
tools:
  allowed:
    - {name: "db", labels: [private_data]}
    - {name: "inbox", labels: [untrusted_content]}
    - {name: "mail", labels: [external_communication]}
    - {name: "web"}
    - {name: "note", labels: []}
    - {name: "shell", labels: [code_execution]}
    - {name: "step", labels: [private_data]}
  blocked: ["rm", "danger_*"]
workflow:
  initial: start
  always_allowed: ["db", "inbox", "mail", "web", "note", "shell"]
  states:
    start:
      allow: ["step"]
      transitions: [{tool: "step", on: allowed, to: "next", remember: {v: x}}]
    next:
      final: true
      allow: [{tool: "step", require: {x: v}}]
flows:
  - {name: "trifecta", from: [private_data, untrusted_content], to: [external_communication],
     action: require_approval}
  - {name: "no-exec-after-untrusted", from: [untrusted_content], to: [code_execution],
     action: deny}
  - {name: "no-destruction", from: [destructive], to: [destructive], action: deny}
)";

std::shared_ptr<const policy::AgentPolicy> Lab() {
  std::vector<policy::Diagnostic> diags;
  auto p = policy::ParseAgentPolicy(kLab, "lab.yaml", &diags);
  std::string errors;
  for (const auto& d : diags) errors += d.ToString() + "\n";
  EXPECT_TRUE(p.ok()) << errors;
  return p.ok() ? *p : nullptr;
}

std::shared_ptr<const policy::AgentPolicy> Example(const std::string& name) {
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet(
      {std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/" + name}, &diags, {});
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  if (!set.ok() || (*set)->agents.size() != 1) return nullptr;
  return (*set)->agents.begin()->second;
}

ToolCall Call(std::string_view tool, std::vector<std::string> declared = {},
              boost::json::object args = {}) {
  ToolCall c;
  c.tool = std::string(tool);
  c.args = std::move(args);
  c.declared_labels = std::move(declared);
  return c;
}

EvalContext Ctx() {
  EvalContext ctx;
  ctx.now = TestNow();
  ctx.usage = AgentUsage{};
  return ctx;
}

// Allow < approval (or a rehearsal first) < deny.
int Strictness(const Decision& d) {
  switch (d.verdict) {
    case Verdict::kAllow:
      return 0;
    case Verdict::kApprovalRequired:
    case Verdict::kRehearsalRequired:  // proceeds only after more than the agent's word
      return 1;
    case Verdict::kDeny:
      return 2;
  }
  return 2;
}

// ---- Declared labels ----

// Tests that a tool the policy gives no labels takes the ones it declares: a server that
// declares its tool destructive gets it denied by a flow over `destructive`.
TEST(DeclaredLabels, ToolWithoutPolicyLabelsIsJudgedByWhatItDeclares) {
  auto p = Lab();
  ASSERT_NE(p, nullptr);
  const Evaluation ev = Evaluate(p.get(), RunState{}, Call("web", {"destructive"}), Ctx());
  EXPECT_EQ(ev.decision.code, Code::kFlowViolation) << ev.decision.reason;
  EXPECT_EQ(ev.decision.rule, "flows[\"no-destruction\"]");
  EXPECT_EQ(Evaluate(p.get(), RunState{}, Call("web"), Ctx()).decision.code, Code::kAllowed);
}

// Tests that the policy wins: a tool with labels in the policy, or with `labels: []`,
// ignores what the server declares (a server cannot relabel a tool the policy describes).
TEST(DeclaredLabels, PolicyLabelsWinEvenWhenEmpty) {
  auto p = Lab();
  ASSERT_NE(p, nullptr);
  const Evaluation note = Evaluate(p.get(), RunState{}, Call("note", {"destructive"}), Ctx());
  EXPECT_EQ(note.decision.code, Code::kAllowed) << note.decision.reason;
  EXPECT_THAT(note.effects.sequence.add_labels, IsEmpty());
  const Evaluation db =
      Evaluate(p.get(), RunState{}, Call("db", {"destructive", "external_communication"}), Ctx());
  EXPECT_EQ(db.decision.code, Code::kAllowed) << db.decision.reason;
  EXPECT_THAT(db.effects.sequence.add_labels, ElementsAre("private_data"));
}

// Tests that declared labels of a call that proceeds are remembered by the run, so a web
// page the server says comes from the open world makes a later shell call a flow violation.
TEST(DeclaredLabels, DeclaredUntrustedContentIsRememberedByTheRun) {
  auto p = Lab();
  ASSERT_NE(p, nullptr);
  RunState s;
  const ToolCall web = Call("web", {"external_communication", "untrusted_content"});
  const Evaluation ev = Evaluate(p.get(), s, web, Ctx());
  ASSERT_EQ(ev.decision.code, Code::kAllowed) << ev.decision.reason;
  ApplyEffects(ev.effects, web.tool, &s);
  EXPECT_EQ(s.labels,
            (std::set<std::string, std::less<>>{"external_communication", "untrusted_content"}));
  const Decision shell = Evaluate(p.get(), s, Call("shell"), Ctx()).decision;
  EXPECT_EQ(shell.code, Code::kFlowViolation);
  EXPECT_THAT(shell.reason, HasSubstr("flow \"no-exec-after-untrusted\""));
}

// Tests that declared labels cannot unblock a tool or bring a tool the policy does not
// allow into the run.
TEST(DeclaredLabels, CannotUnblockOrAllow) {
  auto p = Lab();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(Evaluate(p.get(), RunState{}, Call("rm", {"private_data"}), Ctx()).decision.code,
            Code::kToolBlocked);
  const Evaluation unknown = Evaluate(p.get(), RunState{}, Call("other", {"x"}), Ctx());
  EXPECT_EQ(unknown.decision.code, Code::kToolNotAllowed);
  EXPECT_FALSE(unknown.effects.consume_records);
  EXPECT_THAT(CallLabels(nullptr, Call("other", {"x"})), IsEmpty());
}

// Tests that a door passes declared labels through the call parser (interlock mcp --daemon
// sends them to the daemon) and that malformed ones are refused, never ignored.
TEST(DeclaredLabels, CallParserTakesThemAndRefusesMalformedOnes) {
  auto ok = ParseToolCall(R"({"tool":"web","declared_labels":["destructive","a.b-c_d"]})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_THAT(ok->declared_labels, ElementsAre("destructive", "a.b-c_d"));
  for (
      const char* bad : {
          R"({"tool":"web","declared_labels":"destructive"})",
          R"({"tool":"web","declared_labels":[1]})",
          R"({"tool":"web","declared_labels":[""]})",
          R"({"tool":"web","declared_labels":["has space"]})",
          R"({"tool":"web","declared_labels":["a\nb"]})",
          R"({"tool":"web","declared_labels":["a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a"]})",
      }) {
    auto r = ParseToolCall(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_THAT(r.error().message, HasSubstr("declared_labels")) << bad;
    }
  }
}

// ---- Properties over random sequences ----

const std::vector<std::string> kTools = {"db",    "inbox", "mail", "web",   "note",
                                         "shell", "step",  "rm",   "other", "danger_x"};
const std::vector<std::string> kLabels = {
    "private_data", "untrusted_content", "external_communication", "destructive", "code_execution"};

ToolCall RandomCall(std::mt19937_64& rng) {
  ToolCall c = Call(kTools[rng() % kTools.size()]);
  for (const std::string& l : kLabels) {
    if (rng() % 4 == 0) c.declared_labels.push_back(l);
  }
  if (rng() % 2 == 0) c.args["x"] = static_cast<int64_t>(rng() % 3);
  return c;
}

// Tests that no sequence of calls (with any declared labels) and reported results makes
// a blocked tool allowed; that a call that does not proceed changes no workflow state,
// variable or label; and that declared labels never make a decision looser than the same
// call declaring nothing.
TEST(SequenceProperty, DeclaredLabelsNeverLoosenAndDeniedCallsChangeNothing) {
  auto lab = Lab();
  auto inbox = Example("inbox-agent.yaml");
  ASSERT_NE(lab, nullptr);
  ASSERT_NE(inbox, nullptr);
  std::mt19937_64 rng(1123);
  for (const policy::AgentPolicy* p : {lab.get(), inbox.get()}) {
    for (int run = 0; run < 300; ++run) {
      RunState state;
      std::optional<ToolCall> last;
      for (int step = 0; step < 25; ++step) {
        if (rng() % 6 == 0) {
          if (last) state = ApplyResult(p, state, *last, rng() % 2 == 0);
          continue;
        }
        ToolCall call = RandomCall(rng);
        const Evaluation ev = Evaluate(p, state, call, Ctx());
        ToolCall bare = call;
        bare.declared_labels.clear();
        const Decision without = Evaluate(p, state, bare, Ctx()).decision;
        ASSERT_GE(Strictness(ev.decision), Strictness(without))
            << call.tool << ": " << ev.decision.reason << " vs " << without.reason;
        if (p->Resolve(call.tool).kind == policy::ToolResolution::Kind::kBlocked) {
          ASSERT_EQ(ev.decision.code, Code::kToolBlocked) << ev.decision.reason;
        }
        const RunState before = state;
        ApplyEffects(ev.effects, call.tool, &state);
        if (!ev.decision.allowed()) {
          ASSERT_EQ(state.workflow_state, before.workflow_state) << ev.decision.reason;
          ASSERT_EQ(state.workflow_vars, before.workflow_vars);
          ASSERT_EQ(state.labels, before.labels);
        } else {
          last = call;
          for (const std::string& l : CallLabels(p->Resolve(call.tool).rule, call)) {
            ASSERT_EQ(state.labels.count(l), 1u) << l;
          }
        }
      }
      for (const char* tool : {"rm", "danger_zone", "delete_customer"}) {
        const Decision d = Evaluate(p, state, Call(tool, kLabels), Ctx()).decision;
        ASSERT_FALSE(d.allowed()) << tool << ": " << d.reason;
      }
    }
  }
}

// Tests that flows judge the set of labels the run has seen, not the order: the same
// earlier calls in any order leave the same labels and the same decision for every next
// call (whether the earlier calls are applied as proceeding, or decided one by one and
// all proceeded in both orders).
TEST(SequenceProperty, OrderOfEarlierCallsDoesNotMatterForFlows) {
  auto lab = Lab();
  auto inbox = Example("inbox-agent.yaml");
  ASSERT_NE(lab, nullptr);
  ASSERT_NE(inbox, nullptr);
  const std::vector<std::string> history_tools = {
      "db", "inbox", "web", "note", "mail", "read_inbox", "search_customers", "add_internal_note"};
  std::mt19937_64 rng(777);
  for (const policy::AgentPolicy* p : {lab.get(), inbox.get()}) {
    for (int trial = 0; trial < 300; ++trial) {
      std::vector<ToolCall> history;
      const size_t n = 1 + rng() % 5;
      for (size_t i = 0; i < n; ++i) {
        ToolCall c = Call(history_tools[rng() % history_tools.size()]);
        if (c.tool == "read_inbox") c.args["folder"] = "inbox";
        if (c.tool == "search_customers") c.args["query"] = "q";
        if (c.tool == "add_internal_note") c.args["text"] = "t";
        if (rng() % 2 == 0) c.declared_labels = {kLabels[rng() % kLabels.size()]};
        history.push_back(std::move(c));
      }
      std::vector<ToolCall> shuffled = history;
      std::shuffle(shuffled.begin(), shuffled.end(), rng);

      // Applied as proceeding (what a store does with each call that proceeded).
      auto proceed = [&](const std::vector<ToolCall>& calls) {
        RunState s;
        for (const ToolCall& c : calls) {
          Effects e;
          e.consume_records = true;
          e.sequence.add_labels = ProceedEffects(p, s, c).add_labels;
          ApplyEffects(e, c.tool, &s);
        }
        return s;
      };
      // Decided one by one; nullopt when some call did not proceed.
      auto decided = [&](const std::vector<ToolCall>& calls) -> std::optional<RunState> {
        RunState s;
        for (const ToolCall& c : calls) {
          const Evaluation ev = Evaluate(p, s, c, Ctx());
          if (!ev.decision.allowed()) return std::nullopt;
          ApplyEffects(ev.effects, c.tool, &s);
        }
        return s;
      };
      const RunState a = proceed(history);
      const RunState b = proceed(shuffled);
      ASSERT_EQ(a.labels, b.labels);
      const std::optional<RunState> da = decided(history);
      const std::optional<RunState> db = decided(shuffled);
      if (da && db) {
        ASSERT_EQ(da->labels, db->labels);
      }

      ToolCall probe = Call(rng() % 2 == 0 ? "mail" : "send_email");
      if (probe.tool == "send_email") {
        probe.args = {{"to", "a@b.c"}, {"subject", "s"}, {"body", "b"}};
      }
      for (const ToolCall& next :
           {probe, Call("shell"), Call("web", {"destructive"}), Call("web", {kLabels[0]})}) {
        const Decision x = Evaluate(p, a, next, Ctx()).decision;
        const Decision y = Evaluate(p, b, next, Ctx()).decision;
        ASSERT_EQ(x.code, y.code) << next.tool << ": " << x.reason << " vs " << y.reason;
        ASSERT_EQ(x.reason, y.reason);
        if (da && db) {
          ASSERT_EQ(Evaluate(p, *da, next, Ctx()).decision.code,
                    Evaluate(p, *db, next, Ctx()).decision.code)
              << next.tool;
        }
      }
    }
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
