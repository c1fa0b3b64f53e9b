// The PostgreSQL test harness itself (tests/support/pg_cluster.h).
#include "pg_cluster.h"

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

// Tests that the harness starts a private cluster on loopback that answers SQL, gives each
// caller its own database, and comes back after an immediate stop.
TEST(PgCluster, StartsAPrivateClusterAndRestartsIt) {
  std::string error;
  PgCluster* c = PgTestEnvironment::Instance()->Cluster(&error);
  ASSERT_NE(c, nullptr) << error;
  const std::string uri = c->NewDatabase(&error);
  ASSERT_FALSE(uri.empty()) << error;
  EXPECT_NE(uri.find("127.0.0.1:" + std::to_string(c->port())), std::string::npos);
  EXPECT_EQ(c->Psql("postgres", "SELECT 1", &error), "1\n") << error;
  ASSERT_TRUE(c->Restart(&error)) << error;
  EXPECT_EQ(c->Psql("postgres", "SHOW listen_addresses", &error), "127.0.0.1\n") << error;
}

// Tests the failover support: a synchronous standby streams from the primary on loopback
// (replication trusted from 127.0.0.1 only), and once the primary is stopped (immediate)
// and the standby promoted, the standby holds every committed row and accepts writes.
TEST(PgCluster, StandbyStreamsAndIsPromotedWithEveryCommit) {
  std::string error;
  PgCluster::Options options;
  options.replication = true;
  options.synchronous_standby_names = "s1";
  std::unique_ptr<PgCluster> primary = PgCluster::Start(options, &error);
  ASSERT_NE(primary, nullptr) << error;
  std::unique_ptr<PgCluster> standby = primary->StartStandby("s1", &error);
  ASSERT_NE(standby, nullptr) << error;
  ASSERT_TRUE(primary->WaitForStandby("s1", std::chrono::seconds(15), &error)) << error;
  EXPECT_NE(standby->port(), primary->port());
  EXPECT_EQ(primary->Psql("postgres",
                          "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY"
                          "(database) AND address IS DISTINCT FROM '127.0.0.1'",
                          &error),
            "0\n")
      << error;
  primary->Psql("postgres", "CREATE TABLE t(x int); INSERT INTO t VALUES (1), (2)", &error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(standby->Psql("postgres", "SELECT pg_is_in_recovery()", &error), "t\n") << error;
  primary->Stop();
  ASSERT_TRUE(standby->Promote(std::chrono::seconds(15), &error)) << error;
  EXPECT_EQ(standby->Psql("postgres", "INSERT INTO t VALUES (3); SELECT count(*) FROM t", &error),
            "3\n")
      << error;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
