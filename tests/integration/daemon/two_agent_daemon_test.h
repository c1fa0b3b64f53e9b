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
#include "daemon_suite.h"
#include "temp_dir.h"

namespace interlock::testing {

struct AgentPolicy {
  std::string id;    // the policy's agent id (its token's --agent)
  std::string yaml;  // the policy file
};

class TwoAgentDaemonTest : public DaemonSuite {
 protected:
  // Writes both policies, creates the tokens and starts the daemon; a failure is fatal
  // (ASSERT: call it as the last line of SetUp, or check HasFatalFailure()).
  void StartDaemon(const AgentPolicy& agent, const AgentPolicy& other) {
    MakeDaemon(WritePolicies({{agent.id + ".yaml", agent.yaml}, {other.id + ".yaml", other.yaml}}));
    agent_ = Token("--agent", agent.id);
    other_ = Token("--agent", other.id);
    reviewer_ = Token("--reviewer", "rita");
    DaemonSuite::StartDaemon();
  }

  std::string agent_, other_, reviewer_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_DAEMON_TWO_AGENT_DAEMON_TEST_H_
