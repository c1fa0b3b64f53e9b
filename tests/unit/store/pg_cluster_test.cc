// The PostgreSQL test harness itself (tests/support/pg_cluster.h).
#include "pg_cluster.h"

#include <gtest/gtest.h>

namespace interlock::testing {
namespace {

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

}  // namespace
}  // namespace interlock::testing
