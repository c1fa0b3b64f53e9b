// Rehearsal step accounting (docs/policy.md#rehearsal, "What counts") through the real
// Guard and each RunStore that keeps rehearsals (memory, SQLite): every REHEARSAL_REQUIRED
// ask spends the call's step in the store's own transaction, so max_steps bounds how often
// an agent can ask, and the real call decided on the reported outcome spends none.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/app/policy_source.h"
#include "core/guard.h"
#include "core/memory_run_store.h"
#include "core/ports/run_store.h"
#include "policy/loader.h"
#include "rehearsal_policy.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace interlock {
// A namespace of this file's own rather than INTERLOCK_TEST_NS: the typed tests' names carry
// their backend's type, which reads the same in every build this way.
namespace rehearsal_store_test {

namespace fs = std::filesystem;
using core::GuardResponse;
using core::RunStore;

using ::interlock::testing::TempDir;

struct MemoryBackend {
  explicit MemoryBackend(const TempDir&) : store(std::make_unique<core::MemoryRunStore>()) {}
  RunStore& get() { return *store; }
  std::unique_ptr<core::MemoryRunStore> store;
};

struct SqliteBackend {
  explicit SqliteBackend(const TempDir& dir) {
    store::StoreOptions o;
    o.path = dir.File("s.db");
    o.durable_full = false;
    auto s = store::SqliteStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (s.ok()) store = std::move(s).value();
  }
  RunStore& get() { return *store; }
  std::unique_ptr<store::SqliteStore> store;
};

std::shared_ptr<const policy::PolicySet> Policies(const TempDir& dir) {
  const std::string path = dir.File("ops.yaml");
  std::ofstream(path) << ::interlock::testing::kBoundedRehearsalPolicy;
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet({path}, &diags);
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  return set.ok() ? *set : nullptr;
}

template <class B>
class RehearsalStore : public ::testing::Test {
 protected:
  RehearsalStore()
      : backend_(dir_), policies_(Policies(dir_)), clock_(FromUnixMillis(1'700'000'000'000)) {
    guard_ = std::make_unique<core::Guard>(&policies_, &backend_.get(), &clock_, nullptr);
    Result<core::RunInfo> r = backend_.get().CreateRun("ops", "", clock_.Now());
    EXPECT_TRUE(r.ok());
    if (r.ok()) run_ = r->run_id;
  }
  GuardResponse Ask() {
    ToolCall c;
    c.tool = "deploy";
    c.args = boost::json::object{{"target", "web"}};
    return guard_->Decide("ops", "ops", run_, std::move(c));
  }
  uint64_t Steps() {
    Result<core::RunInfo> r = backend_.get().GetRun(run_);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->state.steps : 0;
  }

  TempDir dir_;
  B backend_;
  core::PolicySource policies_;
  ManualClock clock_;
  std::unique_ptr<core::Guard> guard_;
  std::string run_;
};

using Backends = ::testing::Types<MemoryBackend, SqliteBackend>;
TYPED_TEST_SUITE(RehearsalStore, Backends);

// Tests that asking for rehearsals again and again spends steps: with max_steps 3, the
// 4th REHEARSAL_REQUIRED ask is a BUDGET_EXCEEDED denial.
TYPED_TEST(RehearsalStore, AskingAgainAndAgainSpendsSteps) {
  for (int i = 0; i < 3; ++i) {
    GuardResponse r = this->Ask();
    ASSERT_EQ(r.decision.verdict, Verdict::kRehearsalRequired) << i << r.decision.reason;
    EXPECT_EQ(this->Steps(), static_cast<uint64_t>(i + 1));
  }
  GuardResponse fourth = this->Ask();
  EXPECT_EQ(fourth.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(fourth.decision.code, Code::kBudgetExceeded) << fourth.decision.reason;
}

// Tests that a completed rehearsed call is exactly one step (ask + real call), that the
// real call of the last step's ask is still allowed, and that a second report of the same
// rehearsal is refused and spends nothing.
TYPED_TEST(RehearsalStore, CompletedRehearsedCallIsExactlyOneStep) {
  ASSERT_EQ(this->Ask().decision.verdict, Verdict::kRehearsalRequired);
  ASSERT_EQ(this->Ask().decision.verdict, Verdict::kRehearsalRequired);
  GuardResponse third = this->Ask();
  ASSERT_EQ(third.decision.verdict, Verdict::kRehearsalRequired);
  EXPECT_EQ(this->Steps(), 3u);
  core::CallResult ok;
  ok.ok = true;
  ok.output_json = "\"plan: 1 change\"";
  GuardResponse real =
      this->guard_->CompleteRehearsal("ops", "ops", third.call_id, ok, std::nullopt);
  EXPECT_EQ(real.decision.verdict, Verdict::kAllow) << real.decision.reason;
  EXPECT_EQ(this->Steps(), 3u);
  GuardResponse again =
      this->guard_->CompleteRehearsal("ops", "ops", third.call_id, ok, std::nullopt);
  EXPECT_EQ(again.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(this->Steps(), 3u);
  EXPECT_EQ(this->Ask().decision.code, Code::kBudgetExceeded);
}

// Tests that the rehearsal of a call decided for alice cannot be reported under another
// principal of the same agent (mallory's token, Store::RecordRehearsal keyed on agent and
// call only): refused, nothing recorded, so alice's own report still decides her real call.
TYPED_TEST(RehearsalStore, RehearsalOfAliceCannotBeCompletedByMallory) {
  const std::string alice = "ops@x (https://idp) on behalf of alice";
  const std::string mallory = "ops@x (https://idp) on behalf of mallory";
  ToolCall c;
  c.tool = "deploy";
  c.args = boost::json::object{{"target", "web"}};
  GuardResponse asked = this->guard_->Decide("ops", alice, this->run_, std::move(c));
  ASSERT_EQ(asked.decision.verdict, Verdict::kRehearsalRequired) << asked.decision.reason;
  core::CallResult ok;
  ok.ok = true;
  ok.output_json = "\"plan: 1 change\"";
  GuardResponse m =
      this->guard_->CompleteRehearsal("ops", mallory, asked.call_id, ok, std::nullopt);
  ASSERT_TRUE(m.error.has_value()) << m.decision.reason;
  EXPECT_EQ(*m.error, ErrorKind::kPermissionDenied) << m.decision.reason;
  EXPECT_NE(m.decision.verdict, Verdict::kAllow);
  EXPECT_NE(m.decision.reason.find("mallory"), std::string::npos) << m.decision.reason;
  GuardResponse own =
      this->guard_->CompleteRehearsal("ops", alice, asked.call_id, ok, std::nullopt);
  EXPECT_FALSE(own.error.has_value()) << own.decision.reason;
  EXPECT_EQ(own.decision.verdict, Verdict::kAllow) << own.decision.reason;
}

}  // namespace rehearsal_store_test
}  // namespace interlock
