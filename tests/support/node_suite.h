// NodeSuite: the base fixture of the suites that drive the npm packages of
// tests/integration/mcp/node (the MCP servers and SDK clients). scripts/setup-node-tests.sh
// runs at most once per process, from SetUpTestSuite; every test asserts it succeeded, in
// SetUp (a suite that overrides SetUp asserts `setup_error_` itself, first). Header-only.
#ifndef INTERLOCK_TESTS_SUPPORT_NODE_SUITE_H_
#define INTERLOCK_TESTS_SUPPORT_NODE_SUITE_H_

#include <string>

#include <gtest/gtest.h>

#include "subprocess.h"

namespace interlock::testing {

// The script that installs the pinned npm packages of the MCP tests (idempotent, locked).
inline const std::string kSetupNodeTests =
    std::string(INTERLOCK_SOURCE_DIR) + "/scripts/setup-node-tests.sh";

class NodeSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setup_error_ = RunSetupScriptOnce(kSetupNodeTests); }
  void SetUp() override { ASSERT_EQ(setup_error_, ""); }
  // "" when the script succeeded, else what it printed on stderr.
  static inline std::string setup_error_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_NODE_SUITE_H_
