// Kill-switch drills (core/app/drills.h) on a real in-memory store, with probes standing in
// for doors: a drill passes only when every door answered KILL_SWITCH; anything else, a
// missing door or a switch that cannot be engaged fails it; the switch is released and the
// drill agent's runs ended whatever happened; one record per drill; the drill credential
// authenticates only while armed; the drill agent is reserved.
#include "core/app/drills.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/app/authn.h"
#include "core/app/calls.h"
#include "core/app/kills.h"
#include "core/app/policy_source.h"
#include "core/guard.h"
#include "core/roles.h"
#include "store/sqlite_store.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

// A door that answers what it is told, and remembers what the switch said when asked.
class ScriptedProbe final : public DrillProbe {
 public:
  ScriptedProbe(std::string door, std::string code, Kills* kills)
      : door_(std::move(door)), code_(std::move(code)), kills_(kills) {}
  std::string door() const override { return door_; }
  DoorAnswer Probe(const DrillTarget& t) override {
    target = t;
    auto k = kills_->Effective(kDrillAgentId, t.canary_run);
    switch_engaged_when_asked = k.ok() && k->has_value();
    return {code_, "scripted"};
  }
  DrillTarget target;
  bool switch_engaged_when_asked = false;

 private:
  std::string door_, code_;
  Kills* kills_;
};

class DrillsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = std::make_shared<policy::PolicySet>();
    set->sha256 = std::string(64, 'b');
    source_ = std::make_unique<PolicySource>(set);
    store::StoreOptions o;
    o.path = ":memory:";
    o.audit_key = "k";
    o.clock = &clock_;
    auto s = store::SqliteStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
    calls_ = std::make_unique<Calls>(store_.get(), source_.get(), &clock_);
    kills_ = std::make_unique<Kills>(*store_);
    drills_ = std::make_unique<Drills>(store_.get(), calls_.get(), kills_.get(), &clock_);
  }

  size_t OpenDrillRuns() {
    RunFilter f;
    f.agent_id = std::string(kDrillAgentId);
    f.state = RunListState::kActive;
    auto page = store_->ListRuns(f);
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->runs.size() : 0;
  }

  ManualClock clock_{TimePoint(std::chrono::seconds(1795341600))};
  std::unique_ptr<PolicySource> source_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Calls> calls_;
  std::unique_ptr<Kills> kills_;
  std::unique_ptr<Drills> drills_;
};

struct DrillCase {
  const char* name;
  std::vector<std::string> answers;  // one door each
  bool want_passed;
};

// Tests the verdict table: every door KILL_SWITCH passes; an allow, another deny, no answer
// or no door at all fails, and in every case the switch was engaged while the doors were
// asked, is released after, the drill agent's runs are ended and one record is written.
TEST_F(DrillsTest, PassesOnlyWhenEveryDoorAnsweredKillSwitch) {
  const std::vector<DrillCase> cases = {
      {"every door refused", {"KILL_SWITCH", "KILL_SWITCH", "KILL_SWITCH"}, true},
      {"one door allowed", {"KILL_SWITCH", "ALLOWED"}, false},
      {"one door denied for another reason", {"UNKNOWN_AGENT", "KILL_SWITCH"}, false},
      {"one door did not answer", {"KILL_SWITCH", "no answer"}, false},
      {"a code that merely contains it", {"NOT_KILL_SWITCH"}, false},
      {"no door", {}, false},
  };
  int64_t records = 0;
  for (const DrillCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::unique_ptr<ScriptedProbe>> owned;
    std::vector<DrillProbe*> probes;
    for (size_t i = 0; i < c.answers.size(); ++i) {
      owned.push_back(
          std::make_unique<ScriptedProbe>("door" + std::to_string(i), c.answers[i], kills_.get()));
      probes.push_back(owned.back().get());
    }
    auto report = drills_->Run("oncall", "cred", probes);
    ASSERT_TRUE(report.ok()) << report.error().message;
    EXPECT_EQ(report->passed(), c.want_passed);
    EXPECT_TRUE(report->recorded);
    EXPECT_EQ(report->doors.size(), c.answers.size());
    for (const auto& p : owned) {
      EXPECT_TRUE(p->switch_engaged_when_asked) << p->door();
      EXPECT_EQ(p->target.credential, "cred");
      EXPECT_EQ(p->target.canary_run, report->canary_run);
    }
    auto after = kills_->Effective(kDrillAgentId, report->canary_run);
    ASSERT_TRUE(after.ok());
    EXPECT_FALSE(after->has_value()) << "the drill's switch was left engaged";
    EXPECT_EQ(OpenDrillRuns(), 0u);
    ++records;
    auto last = drills_->Last();
    ASSERT_TRUE(last.ok()) << last.error().message;
    ASSERT_TRUE(last->has_value());
    const auto& data = (**last).at("data").as_object();
    EXPECT_EQ(data.at("drill_id").as_string(), report->drill_id);
    EXPECT_EQ(data.at("passed").as_bool(), c.want_passed);
    EXPECT_EQ(data.at("actor").as_string(), "oncall");
  }
  audit::AuditQuery q;
  q.filter.type = std::string(kDrillRecord);
  q.limit = 100;
  auto all = store_->QueryAudit(q);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(static_cast<int64_t>(all->size()), records);
}

// Tests that a drill never touches a real agent: another agent's run stays open and no
// switch covers it while the drill runs or after.
TEST_F(DrillsTest, NeverTouchesARealAgentsRun) {
  auto real = calls_->StartRun("support-agent");
  ASSERT_TRUE(real.ok());
  class Watch final : public DrillProbe {
   public:
    Watch(Kills* k, std::string run) : kills_(k), run_(std::move(run)) {}
    std::string door() const override { return "watch"; }
    DoorAnswer Probe(const DrillTarget&) override {
      auto k = kills_->Effective("support-agent", run_);
      real_covered = !k.ok() || k->has_value();
      return {"KILL_SWITCH", ""};
    }
    bool real_covered = true;

   private:
    Kills* kills_;
    std::string run_;
  } watch(kills_.get(), real->run_id);
  auto report = drills_->Run("oncall", "cred", {&watch});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->passed());
  EXPECT_FALSE(watch.real_covered);
  auto run = calls_->GetRun(real->run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE(run->ended);
}

// Tests that an empty store answers "no drill yet" rather than an error.
TEST_F(DrillsTest, LastIsNoneBeforeAnyDrill) {
  auto last = drills_->Last();
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_FALSE(last->has_value());
}

// Tests that the drill's credential authenticates as the drill agent only while armed, and
// only byte for byte (a prefix or a longer token is refused).
TEST(DrillCredentialTest, AuthenticatesOnlyWhileArmed) {
  class NoTokens final : public TokenTable {
   public:
    Result<Principal> Authenticate(std::string_view) override {
      return Error::NotFound("no such token");
    }
    Status RecordAuthFailures(const AuthFailures&) override { return Status::Ok(); }
  } tokens;
  class Inline final : public AuthnExecutor {
   public:
    void Post(std::function<void()> fn) override { fn(); }
    void ArmFlush(std::chrono::milliseconds) override {}
    void CancelFlush() override {}
  } exec;
  auto set = std::make_shared<policy::PolicySet>();
  PolicySource source(set);
  ManualClock clock(TimePoint(std::chrono::seconds(1795341600)));
  Authenticator authn({}, &tokens, &source, &clock, &exec);
  const std::string cred = "ild_" + std::string(64, 'a');
  EXPECT_FALSE(authn.Bearer(cred).ok()) << "before the drill";
  authn.ArmDrill(cred);
  AuthnResult who = authn.Bearer(cred);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who.caller->principal.agent_id, kDrillAgentId);
  EXPECT_EQ(who.caller->principal.role, Role::kAgent);
  EXPECT_FALSE(authn.Bearer(cred.substr(0, cred.size() - 1)).ok()) << "a prefix";
  EXPECT_FALSE(authn.Bearer(cred + "a").ok()) << "a longer token";
  authn.DisarmDrill();
  EXPECT_FALSE(authn.Bearer(cred).ok()) << "after the drill";
  authn.Shutdown();
}

// Tests that no token may be issued for the drill agent.
TEST(DrillAgentTest, NoTokenMayNameTheDrillAgent) {
  auto spec = CheckTokenSpec(Role::kAgent, "", kDrillAgentId);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().message.find("reserved"), std::string::npos);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
