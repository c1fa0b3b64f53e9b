// OpenRun: a new run through the daemon's API (POST /v1/runs) for the agent `token` names.
// Header-only.
#ifndef INTERLOCK_TESTS_INTEGRATION_DAEMON_OPEN_RUN_H_
#define INTERLOCK_TESTS_INTEGRATION_DAEMON_OPEN_RUN_H_

#include <string>

#include <gtest/gtest.h>

#include "daemon_harness.h"
#include "json_lines.h"

namespace interlock::testing {

// The new run's id; "" (and the test fails) when the daemon does not answer 201.
inline std::string OpenRun(HttpClient& client, const std::string& token) {
  HttpResult r = client.Request("POST", "/v1/runs", "", token);
  EXPECT_EQ(r.status, 201) << r.body;
  return Str(r.json, "run_id");
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_DAEMON_OPEN_RUN_H_
