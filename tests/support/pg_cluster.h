// A private PostgreSQL 15 cluster for tests (issue 14, section 4): initdb into a fresh
// temporary directory, a server listening on 127.0.0.1 at a free port (and a unix socket
// inside the same directory), stopped with `pg_ctl stop -m immediate` and removed when the
// PgCluster is destroyed.
//
// Tests run as root and initdb refuses root: when the process is root, initdb, pg_ctl and
// postgres run as `nobody` (setpriv --reuid/--regid/--clear-groups) with the directory
// chowned to it. The binaries come from /usr/lib/postgresql/15/bin (Debian's
// postgresql-15; INTERLOCK_PG_BIN overrides the directory). Start is bounded (initdb 60 s,
// the server 10 s): a failure returns the server log in the error.
//
// fsync is off unless Options::durable (only tests of power-loss durability need it);
// synchronous_commit stays on, so a server stopped immediately keeps every commit.
//
// The server is the test process's child, started through `setpriv --pdeathsig=SIGQUIT`:
// when the test process dies (a crash, a timeout's SIGKILL) the server shuts down at once
// too. The signal follows the thread that started it, so start the cluster from the test's
// main thread (PgTestEnvironment::Cluster() from SetUp does).
//
// PgTestEnvironment is the GoogleTest side: one cluster per test binary (process),
// started on first use by PgTestEnvironment::Cluster(), stopped when the environment is
// torn down (and by the destructor on any other exit). Thread-safety: Cluster() and
// NewDatabase() may be called from any thread.
#ifndef INTERLOCK_TESTS_SUPPORT_PG_CLUSTER_H_
#define INTERLOCK_TESTS_SUPPORT_PG_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include <gtest/gtest.h>

namespace interlock::testing {

class PgCluster {
 public:
  struct Options {
    bool durable = false;  // fsync=on, full_page_writes=on
    int start_timeout_ms = 10000;
  };
  // nullptr and *error set (with the server log) when the cluster could not start.
  static std::unique_ptr<PgCluster> Start(const Options& options, std::string* error);
  ~PgCluster();  // pg_ctl stop -m immediate, then removes the directory

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:PORT/DB (the superuser "postgres", trust auth on
  // loopback only).
  std::string Uri(const std::string& db) const;
  // Creates an empty database with a fresh name; returns its URI ("" and *error set on
  // failure).
  std::string NewDatabase(std::string* error);
  // Runs SQL through psql on `db` as the superuser; returns psql's stdout, or "" and
  // *error on failure.
  std::string Psql(const std::string& db, const std::string& sql, std::string* error) const;
  std::string ServerLog() const;
  // Stops (immediate) and starts the server again on the same port, same data.
  bool Restart(std::string* error);
  // Stops the server (SIGQUIT: pg_ctl stop -m immediate); Restart() starts it again.
  void Stop();

 private:
  PgCluster() = default;
  bool StartServer(std::string* error);

  Options options_;
  std::string dir_;  // temp dir: data/, sock/, log
  std::string bin_;  // directory of initdb, pg_ctl
  bool as_nobody_ = false;
  bool running_ = false;
  pid_t server_pid_ = 0;
  int port_ = 0;
  std::mutex mu_;
  int next_db_ = 0;
};

// GoogleTest environment owning one PgCluster per process; register it in the test
// binary with ::testing::AddGlobalTestEnvironment(PgTestEnvironment::Instance()) or just
// call Cluster() (it registers nothing and is torn down at exit).
class PgTestEnvironment : public ::testing::Environment {
 public:
  // The process-wide environment (never destroyed; registered with GoogleTest on first
  // call, which then owns it).
  static PgTestEnvironment* Instance();
  // The cluster, started on first call; nullptr and *error (with the log) on failure.
  PgCluster* Cluster(std::string* error);
  void TearDown() override;

 private:
  std::mutex mu_;
  std::unique_ptr<PgCluster> cluster_;
  std::string start_error_;
  bool tried_ = false;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_PG_CLUSTER_H_
