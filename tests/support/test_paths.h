// Where the tests find the program they run and the npm packages they drive (the MCP
// servers and SDK clients of tests/integration/mcp/node): one spelling of each path for
// every suite. INTERLOCK_SOURCE_DIR and INTERLOCK_BINARY_DIR are defined by interlock_test().
#ifndef INTERLOCK_TESTS_SUPPORT_TEST_PATHS_H_
#define INTERLOCK_TESTS_SUPPORT_TEST_PATHS_H_

#include <string>

namespace interlock::testing {

// The `interlock` program of this build.
inline const std::string kInterlock = std::string(INTERLOCK_BINARY_DIR) + "/interlock";
// The npm package of the MCP tests (its lock file pins the servers and SDKs).
inline const std::string kNodeDir =
    std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/mcp/node";
// Its @modelcontextprotocol packages, and the reference server most tests put behind us.
inline const std::string kModules = kNodeDir + "/node_modules/@modelcontextprotocol";
inline const std::string kEverything = kModules + "/server-everything/dist/index.js";

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_TEST_PATHS_H_
