// `interlock doctor` on a fleet's PostgreSQL store: the database opens, the one chain
// verifies against the fleet's checkpoints with the fleet's keys, and keys that did not
// sign them fail.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "daemon_harness.h"
#include "pg_cluster.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

constexpr const char* kPolicy = R"(agent:
  id: pg-doctor-agent
  identity: pg-doctor-agent@test
tools:
  allowed:
    - name: ping
execution:
  max_steps: 10
)";

// Tests that doctor passes a fleet database with its keys and fails it with other keys.
TEST(DoctorPgTest, FleetDatabaseVerifiesWithItsKeysAndFailsWithOthers) {
  std::string error;
  const std::string uri = PgTestEnvironment::Instance()->NewDatabase(&error);
  ASSERT_FALSE(uri.empty()) << error;
  TempDir dir;
  const std::string policies = dir.path() + "/policies";
  const std::string keys = dir.path() + "/keys";
  std::unique_ptr<Daemon> daemon = MemberDaemon(dir.path(), kPolicy, uri);
  ASSERT_TRUE(daemon->Start()) << daemon->log();
  ASSERT_EQ(daemon->Stop(), 0) << daemon->log();

  const std::string bin = std::string(INTERLOCK_BINARY_DIR) + "/interlock";
  ProcessResult r =
      RunProcess({bin, "doctor", "--store", uri, "--keys", keys, "--policies", policies});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok   store (PostgreSQL) opens"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok   audit chain: "), std::string::npos) << r.out;

  // Another deployment's keys: made by a SQLite store of its own.
  ProcessResult made = RunProcess({bin, "token", "create", "--store", dir.path() + "/other.db",
                                   "--agent", "pg-doctor-agent", "--policy", policies});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  r = RunProcess({bin, "doctor", "--store", uri, "--keys", dir.path() + "/other.db.keys",
                  "--policies", policies});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("was signed by key"), std::string::npos) << r.out;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
