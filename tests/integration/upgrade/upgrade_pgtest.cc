// A rollback onto a PostgreSQL database a newer release migrated: the daemon refuses to
// start and says why, as it does on SQLite (upgrade_test.cc).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "daemon_harness.h"
#include "pg_cluster.h"
#include "store/postgres_store.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace {

constexpr const char* kPolicy = R"(agent:
  id: pg-upgrade-agent
  identity: pg-upgrade-agent@test
tools:
  allowed:
    - name: ping
)";

// Tests that `interlock serve` refuses a PostgreSQL database whose schema is newer than
// this build's, with a message naming both versions, and leaves the version as it was.
TEST(UpgradePgTest, DowngradeOntoANewerSchemaRefusesToStart) {
  std::string error;
  PgCluster* cluster = nullptr;
  const std::string uri = PgTestEnvironment::Instance()->NewDatabase(&error, &cluster);
  ASSERT_FALSE(uri.empty()) << error;
  TempDir dir;
  std::unique_ptr<Daemon> daemon = MemberDaemon(dir.path(), kPolicy, uri);
  ASSERT_TRUE(daemon->Start()) << daemon->log();  // creates the schema
  ASSERT_EQ(daemon->Stop(), 0) << daemon->log();

  const int newer = store::PostgresStore::kSchemaVersion + 1;
  const std::string db = uri.substr(uri.rfind('/') + 1);
  cluster->Psql(db, "UPDATE interlock_schema_version SET version = " + std::to_string(newer),
                &error);
  ASSERT_EQ(error, "");
  EXPECT_FALSE(daemon->Start(std::chrono::seconds(10)));
  const std::string log = daemon->log();
  EXPECT_NE(
      log.find("schema version " + std::to_string(newer) + ", newer than this interlock knows (" +
               std::to_string(store::PostgresStore::kSchemaVersion) + ")"),
      std::string::npos)
      << log;
  EXPECT_EQ(cluster->Psql(db, "SELECT version FROM interlock_schema_version", &error),
            std::to_string(newer) + "\n");
}

}  // namespace
}  // namespace interlock::testing
