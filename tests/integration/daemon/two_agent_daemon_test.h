// A gtest fixture shared by the daemon suites that need one `interlock serve` with two
// agents and a reviewer (rehearsal_daemon_test, claude_code_hook_test): the policies
// written to DIR/policies, a token for each agent (agent_, other_) and for the reviewer
// rita (reviewer_), the daemon started on 127.0.0.1 port 0 and one keep-alive client.
// Every wait is the harness's (bounded); TearDown stops the daemon.
#ifndef INTERLOCK_TESTS_INTEGRATION_DAEMON_TWO_AGENT_DAEMON_TEST_H_
#define INTERLOCK_TESTS_INTEGRATION_DAEMON_TWO_AGENT_DAEMON_TEST_H_

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "daemon_harness.h"
#include "temp_dir.h"

namespace interlock::testing {

struct AgentPolicy {
  std::string id;    // the policy's agent id (its token's --agent)
  std::string yaml;  // the policy file
};

class TwoAgentDaemonTest : public ::testing::Test {
 protected:
  // Writes both policies, creates the tokens and starts the daemon; a failure is fatal
  // (ASSERT: call it as the last line of SetUp, or check HasFatalFailure()).
  void StartDaemon(const AgentPolicy& agent, const AgentPolicy& other) {
    const std::string policies = dir_.path() + "/policies";
    std::filesystem::create_directories(policies);
    std::ofstream(policies + "/" + agent.id + ".yaml") << agent.yaml;
    std::ofstream(policies + "/" + other.id + ".yaml") << other.yaml;
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies);
    agent_ = CreateToken(daemon_->store(), "--agent", agent.id);
    other_ = CreateToken(daemon_->store(), "--agent", other.id);
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "rita");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string agent_, other_, reviewer_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_DAEMON_TWO_AGENT_DAEMON_TEST_H_
