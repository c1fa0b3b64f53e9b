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
// Streaming replication (a failover on loopback): a primary started with
// Options::replication runs wal_level=replica with WAL senders and a pg_hba.conf that
// trusts 127.0.0.1 only (normal and replication connections); StartStandby() makes a
// streaming standby of it (`pg_basebackup -R -X stream` into its own temporary
// directory, another free port); WaitForStandby() waits on the primary until it streams;
// Stop() on the primary kills it (immediate) and Promote() on the standby makes it the new
// primary (`pg_ctl promote`). Every step is bounded; each PgCluster cleans up its own
// server and directory on destruction, whatever the test's outcome.
//
// PgTestEnvironment is the GoogleTest side: one cluster per test binary (process),
// started on first use by PgTestEnvironment::Cluster(), stopped when the environment is
// torn down (and by the destructor on any other exit). Thread-safety: Cluster() and
// NewDatabase() may be called from any thread.
#ifndef INTERLOCK_TESTS_SUPPORT_PG_CLUSTER_H_
#define INTERLOCK_TESTS_SUPPORT_PG_CLUSTER_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace interlock::testing {

class PgCluster {
 public:
  struct Options {
    bool durable = false;  // fsync=on, full_page_writes=on
    int start_timeout_ms = 10000;
    // A primary for streaming standbys: wal_level=replica, WAL senders, replication
    // connections trusted from 127.0.0.1 only.
    bool replication = false;
    // With replication: synchronous_standby_names ("" = asynchronous replication, and the
    // setting left to the configuration files: ALTER SYSTEM can name one later). With a
    // name, every COMMIT waits until that standby flushed it (synchronous_commit=on).
    std::string synchronous_standby_names;
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

  // On a running primary started with Options::replication: a streaming standby of it,
  // `pg_basebackup -R -X stream` (bounded by 60 s) into a fresh temporary directory,
  // started on another free port of 127.0.0.1 and connecting with application_name
  // `name` (what synchronous_standby_names matches). The standby itself has no
  // synchronous standby, so once promoted its commits wait for nobody. nullptr and
  // *error (with the logs) on failure.
  std::unique_ptr<PgCluster> StartStandby(const std::string& name, std::string* error);
  // On the primary: waits until standby `name` streams (pg_stat_replication state
  // 'streaming', and sync_state 'sync' when synchronous_standby_names is set).
  bool WaitForStandby(const std::string& name, std::chrono::milliseconds timeout,
                      std::string* error) const;
  // On a standby: `pg_ctl promote -w`, then waits until it accepts writes
  // (pg_is_in_recovery() is false). False and *error after `timeout`.
  bool Promote(std::chrono::milliseconds timeout, std::string* error);

 private:
  PgCluster() = default;
  bool StartServer(std::string* error);
  bool StartOnFreePort(std::string* error);

  Options options_;
  std::string dir_;                    // temp dir: data/, sock/, log
  std::string bin_;                    // directory of initdb, pg_ctl
  std::vector<std::string> settings_;  // more `-c name=value` for the server
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
  // A fresh database on that cluster: its URI; "" and *error (the cluster's start log, or
  // why the database could not be made) on failure. `cluster`, when given, receives the
  // cluster (nullptr on failure), for Psql() or Restart().
  std::string NewDatabase(std::string* error, PgCluster** cluster = nullptr);
  void TearDown() override;

 private:
  std::mutex mu_;
  std::unique_ptr<PgCluster> cluster_;
  std::string start_error_;
  bool tried_ = false;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_PG_CLUSTER_H_
