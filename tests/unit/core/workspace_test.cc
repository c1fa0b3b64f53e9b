// A run's own workspace (core/workspace.h, PolicySource::ForWorkspace, the Guard's step):
// the mechanics under the Claude Code doors (issue 54, item 1).
#include "core/workspace.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/guard.h"
#include "core/memory_run_store.h"
#include "policy/loader.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

const std::vector<std::string> kRoots = {"/home/*/src/*"};

RunWorkspace Resolve(const std::string& cwd, const std::vector<std::string>& policy_roots = kRoots,
                     const std::vector<std::string>& token_roots = {},
                     const std::set<std::string>& repos = {}) {
  return ResolveSessionWorkspace(SessionOrigin{cwd, token_roots}, policy_roots,
                                 [&](const std::string& d) { return repos.count(d) != 0; });
}

// Tests that `/` and home directories are never a workspace, and their sub-directories can be.
TEST(WorkspaceTest, RootAndHomeDirectoriesAreNeverWorkspaces) {
  for (const char* d : {"/", "/root", "/home", "/home/dev", "/Users", "/Users/ann"}) {
    EXPECT_TRUE(IsHomeOrRoot(d)) << d;
  }
  for (const char* d : {"/home/dev/src", "/srv", "/root/proj", "/opt/x"}) {
    EXPECT_FALSE(IsHomeOrRoot(d)) << d;
  }
}

// Tests that a root's `*` matches one whole segment, never across a `/`, and that a
// directory below a root lies within it.
TEST(WorkspaceTest, RootsMatchSegmentBySegment) {
  EXPECT_TRUE(WithinWorkspaceRoots("/home/ann/src/shop", kRoots));
  EXPECT_TRUE(WithinWorkspaceRoots("/home/ann/src/shop/web/app", kRoots));
  EXPECT_FALSE(WithinWorkspaceRoots("/home/ann/src", kRoots));
  EXPECT_FALSE(WithinWorkspaceRoots("/home/ann/x/src/shop", kRoots));
  EXPECT_FALSE(WithinWorkspaceRoots("/srv/ann/src/shop", kRoots));
  EXPECT_TRUE(WithinWorkspaceRoots("/work/p-1", {"/work/p-*"}));
  EXPECT_FALSE(WithinWorkspaceRoots("/work/q", {"/work/p-*"}));
  EXPECT_FALSE(WithinWorkspaceRoots("/anything", {}));
}

// Tests that without any roots a session has no workspace of its own (the daemon's holds).
TEST(WorkspaceTest, NoRootsMeansTheDaemonsWorkspace) {
  EXPECT_TRUE(Resolve("/home/ann/src/shop", {}, {}).empty());
  EXPECT_TRUE(Resolve("/", {}, {}).empty());
}

// Tests the refusals: no cwd, relative, not normalised, control bytes, `/`, a home
// directory, outside the policy's roots, outside the token's.
TEST(WorkspaceTest, AttackCwdsThatAreRefused) {
  for (const char* cwd : {"", "shop", "./shop", "/home/ann/src/shop/", "/home/ann/src/shop/.",
                          "/home/ann/src/../src/shop", "/home//ann/src/shop",
                          "/home/ann/src/sh\nop", "/", "/home/ann", "/srv/shop", "/home/ann/src"}) {
    RunWorkspace w = Resolve(cwd);
    EXPECT_FALSE(w.refused.empty()) << cwd;
  }
  EXPECT_NE(Resolve("/home/ann").refused.find("home directory"), std::string::npos);
  EXPECT_NE(Resolve("/srv/shop").refused.find("workspace_roots (/home/*/src/*)"),
            std::string::npos);
  RunWorkspace token = Resolve("/home/ann/src/shop", kRoots, {"/home/bob/src/*"});
  EXPECT_NE(token.refused.find("bound to the token"), std::string::npos) << token.refused;
  EXPECT_EQ(token.workspace, "/home/ann/src/shop");  // as sent, for the record
}

// Tests that the token narrows the policy (both must hold) and binds alone when the policy
// names no roots.
TEST(WorkspaceTest, TokenRootsNarrowThePolicys) {
  EXPECT_EQ(Resolve("/home/bob/src/blog", kRoots, {"/home/bob/src/*"}).workspace,
            "/home/bob/src/blog");
  EXPECT_FALSE(Resolve("/srv/bob", kRoots, {"/srv/*"}).refused.empty());
  EXPECT_EQ(Resolve("/srv/bob", {}, {"/srv/*"}).workspace, "/srv/bob");
  EXPECT_FALSE(Resolve("/srv", {}, {"/srv/*"}).refused.empty());
}

// Tests that the workspace is the repository above the cwd when that repository still
// qualifies, and the cwd itself otherwise (a dotfiles repository in the home directory, a
// monorepo above the root).
TEST(WorkspaceTest, RepositoryAboveTheCwdWithinTheRoots) {
  EXPECT_EQ(Resolve("/home/ann/src/shop/web/app", kRoots, {}, {"/home/ann/src/shop"}).workspace,
            "/home/ann/src/shop");
  EXPECT_EQ(Resolve("/home/ann/src/shop/web", kRoots, {}, {"/home/ann/src/shop/web"}).workspace,
            "/home/ann/src/shop/web");
  EXPECT_EQ(Resolve("/home/ann/src/shop/web", kRoots, {}, {"/home/ann", "/home/ann/src"}).workspace,
            "/home/ann/src/shop/web");
  EXPECT_EQ(Resolve("/home/ann/src/shop/web", kRoots, {}, {}).workspace, "/home/ann/src/shop/web");
}

std::shared_ptr<const policy::PolicySet> Policies(const std::string& roots) {
  const std::string text = "agent:\n  id: a\n" + roots +
                           "tools:\n  allowed:\n    - name: read\n      constraints:\n"
                           "        arguments:\n          path:\n"
                           "            path_prefix: \"${workspace}\"\n";
  std::vector<policy::Diagnostic> diags;
  auto agent =
      policy::ParseAgentPolicy(text, "a.yaml", &diags, {.workspace = "/daemon", .getenv = {}});
  EXPECT_TRUE(agent.ok()) << (agent.ok() ? "" : agent.error().message);
  auto set = std::make_shared<policy::PolicySet>();
  set->agents["a"] = *agent;
  set->sha256 = std::string(64, 'a');
  return set;
}

ToolCall Read(const std::string& path) {
  ToolCall c;
  c.tool = "read";
  c.args["path"] = path;
  return c;
}

// Tests that one Guard decides each run under the policy compiled for its own workspace,
// a run without one under the daemon's, and that the compiled policy is an immutable
// snapshot shared by the runs of one workspace and forgotten on reload.
TEST(WorkspaceTest, EachRunDecidedUnderItsOwnWorkspace) {
  PolicySource source(Policies("workspace_roots: [\"/home/*/src/*\"]\n"));
  ManualClock clock;
  MemoryRunStore store;
  ASSERT_TRUE(store.CreateRun("a", "ann", clock.Now(), {"/home/ann/src/shop", ""}).ok());
  ASSERT_TRUE(store.CreateRun("a", "bob", clock.Now(), {"/home/bob/src/blog", ""}).ok());
  ASSERT_TRUE(store.CreateRun("a", "api", clock.Now()).ok());
  Guard guard(&source, &store, &clock, nullptr);
  EXPECT_EQ(guard.Decide("a", "a", "ann", Read("/home/ann/src/shop/x")).decision.code,
            Code::kAllowed);
  EXPECT_EQ(guard.Decide("a", "a", "ann", Read("/home/bob/src/blog/x")).decision.code,
            Code::kConstraintViolated);
  EXPECT_EQ(guard.Decide("a", "a", "bob", Read("/home/bob/src/blog/x")).decision.code,
            Code::kAllowed);
  EXPECT_EQ(guard.Decide("a", "a", "api", Read("/daemon/x")).decision.code, Code::kAllowed);
  EXPECT_EQ(guard.Decide("a", "a", "api", Read("/home/ann/src/shop/x")).decision.code,
            Code::kConstraintViolated);
  auto base = source.Current()->agents.at("a");
  auto once = source.ForWorkspace(base, "/home/ann/src/shop");
  auto twice = source.ForWorkspace(base, "/home/ann/src/shop");
  ASSERT_TRUE(once.ok() && twice.ok());
  EXPECT_EQ(once->get(), twice->get());
  source.Replace(source.Current());
  auto after = source.ForWorkspace(base, "/home/ann/src/shop");
  ASSERT_TRUE(after.ok());
  EXPECT_NE(once->get(), after->get());
}

// Tests that a run whose workspace was refused at its start has every call denied with the
// reason (recorded: SCOPE_VIOLATED, rule workspace_roots), and that a reload narrowing the
// roots refuses a run already under way.
TEST(WorkspaceTest, AttackRefusedOrNoLongerWithinTheRootsIsDenied) {
  PolicySource source(Policies("workspace_roots: [\"/home/*/src/*\"]\n"));
  ManualClock clock;
  MemoryRunStore store;
  ASSERT_TRUE(store
                  .CreateRun("a", "out", clock.Now(),
                             {"/srv",
                              "the session's workspace was "
                              "refused: outside"})
                  .ok());
  ASSERT_TRUE(store.CreateRun("a", "ann", clock.Now(), {"/home/ann/src/shop", ""}).ok());
  Guard guard(&source, &store, &clock, nullptr);
  GuardResponse r = guard.Decide("a", "a", "out", Read("/srv/x"));
  EXPECT_EQ(r.decision.code, Code::kScopeViolated);
  EXPECT_EQ(r.decision.rule, "workspace_roots");
  EXPECT_NE(r.decision.reason.find("refused"), std::string::npos);
  EXPECT_FALSE(r.call_id.empty());
  EXPECT_EQ(guard.Decide("a", "a", "ann", Read("/home/ann/src/shop/x")).decision.code,
            Code::kAllowed);
  source.Replace(Policies("workspace_roots: [\"/work/*\"]\n"));
  GuardResponse narrowed = guard.Decide("a", "a", "ann", Read("/home/ann/src/shop/x"));
  EXPECT_EQ(narrowed.decision.code, Code::kScopeViolated);
  EXPECT_NE(narrowed.decision.reason.find("outside the policy's workspace_roots"),
            std::string::npos);
}

// Tests that the loader takes workspace_roots and refuses roots that are relative, not
// normalised, or `/` itself.
TEST(WorkspaceTest, LoaderValidatesWorkspaceRoots) {
  auto load = [](const std::string& roots) {
    std::vector<policy::Diagnostic> diags;
    return policy::ParseAgentPolicy(
        "agent:\n  id: a\nworkspace_roots: " + roots + "\ntools:\n  allowed: [read]\n", "a.yaml",
        &diags);
  };
  auto ok = load("[\"/home/*/src/*\", \"/work\"]");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)->workspace_roots, (std::vector<std::string>{"/home/*/src/*", "/work"}));
  EXPECT_EQ((*ok)->workspace_source, nullptr);  // no ${workspace}: nothing to compile again
  for (const char* bad :
       {"[\"src/*\"]", "[\"/home/../etc\"]", "[\"/\"]", "[\"/*\"]", "[\"/work/\"]", "\"/work\""}) {
    EXPECT_FALSE(load(bad).ok()) << bad;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
