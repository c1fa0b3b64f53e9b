// DaemonSuite: the fixture of a suite that drives one `interlock serve` over HTTP (the
// daemon harness, daemon_harness.h). A suite's SetUp writes its policies (WritePolicies),
// makes `daemon_` (MakeDaemon) and its tokens (Token), then calls StartDaemon; TearDown
// closes the client and stops the daemon. Header-only; every wait is the harness's, bounded.
#ifndef INTERLOCK_TESTS_INTEGRATION_DAEMON_DAEMON_SUITE_H_
#define INTERLOCK_TESTS_INTEGRATION_DAEMON_DAEMON_SUITE_H_

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "daemon_harness.h"
#include "temp_dir.h"

namespace interlock::testing {

class DaemonSuite : public ::testing::Test {
 protected:
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }

  // Writes each {file name, YAML} to DIR/policies; returns that directory.
  std::string WritePolicies(
      std::initializer_list<std::pair<std::string, std::string>> files) const {
    const std::string policies = dir_.path() + "/policies";
    std::filesystem::create_directories(policies);
    for (const auto& file : files) std::ofstream(policies + "/" + file.first) << file.second;
    return policies;
  }
  // `daemon_`, not started: `serve` of `policies` with its store in DIR.
  void MakeDaemon(const std::string& policies, const std::string& config = "") {
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies, config);
  }
  // A token of `daemon_`'s store ("--agent" | "--reviewer" | "--admin", a name, then `extra`
  // flags of `token create`).
  std::string Token(const std::string& role_flag, const std::string& name,
                    const std::vector<std::string>& extra = {}) const {
    return CreateToken(daemon_->store(), role_flag, name, extra);
  }
  // Starts `daemon_` and connects `client_`; the test fails (fatally) when it does not start.
  void StartDaemon() {
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }

  TempDir dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_DAEMON_DAEMON_SUITE_H_
