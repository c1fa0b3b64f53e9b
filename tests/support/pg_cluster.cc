#include "pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "subprocess.h"
#include "wait.h"

namespace interlock::testing {
namespace {

namespace fs = std::filesystem;

std::string PgBin() {
  const char* env = std::getenv("INTERLOCK_PG_BIN");
  return env != nullptr && *env != '\0' ? env : "/usr/lib/postgresql/15/bin";
}

// The argv prefix that runs a PostgreSQL program as `nobody` when we are root.
std::vector<std::string> AsServerUser(bool as_nobody, bool pdeathsig) {
  std::vector<std::string> argv{"/usr/bin/setpriv"};
  if (as_nobody) {
    argv.insert(argv.end(), {"--reuid=nobody", "--regid=nogroup", "--clear-groups"});
  }
  // The server dies with the test process, even when the test crashes.
  if (pdeathsig) argv.push_back("--pdeathsig=SIGQUIT");
  return argv;
}

bool ChownToNobody(const std::string& path) {
  const passwd* pw = getpwnam("nobody");
  if (pw == nullptr) return false;
  return chown(path.c_str(), pw->pw_uid, pw->pw_gid) == 0;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An initdb'd data directory shared by every test process of this machine (initdb takes
// seconds; a copy of its result a fraction of one). Made once under an exclusive lock
// file and published by rename, so concurrent test processes never see half of it.
std::string TemplateDataDir(bool as_nobody, std::string* error) {
  const std::string root =
      (fs::temp_directory_path() / ("interlock-pg-template-15-" + std::to_string(geteuid())))
          .string();
  const std::string data = root + "/data";
  if (fs::exists(data + "/PG_VERSION")) return data;
  std::error_code ec;
  fs::create_directories(root, ec);
  const std::string lock_path = root + ".lock";
  const int lock = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock < 0) {
    *error = "cannot open " + lock_path;
    return "";
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fcntl(lock, F_SETLKW, &fl);
  std::string result;
  if (fs::exists(data + "/PG_VERSION")) {
    result = data;
  } else {
    const std::string staging = root + "/staging";
    fs::remove_all(staging, ec);
    fs::create_directories(staging, ec);
    if (as_nobody && !ChownToNobody(root)) *error = "cannot chown " + root + " to nobody";
    if (as_nobody && !ChownToNobody(staging)) *error = "cannot chown " + staging + " to nobody";
    if (error->empty()) {
      std::vector<std::string> argv = AsServerUser(as_nobody, false);
      argv.insert(argv.end(), {PgBin() + "/initdb", "-D", staging + "/data", "-U", "postgres", "-A",
                               "trust", "--no-sync", "-E", "UTF8", "--no-instructions"});
      ProcessResult r = RunProcess(argv, "", std::chrono::seconds(60));
      if (r.exit_code != 0) {
        *error =
            "initdb failed" + std::string(r.timed_out ? " (timed out)" : "") + ": " + r.out + r.err;
      } else {
        fs::rename(staging + "/data", data, ec);
        if (ec) *error = "cannot publish the template cluster: " + ec.message();
        fs::remove_all(staging, ec);
        if (error->empty()) result = data;
      }
    }
  }
  close(lock);
  return result;
}

// A fresh temporary directory (0755, so `nobody` reaches its data/ and sock/) with an
// empty sock/ the server may write; "" on failure.
std::string MakeClusterDir(bool as_nobody) {
  std::string tmpl = (fs::temp_directory_path() / "interlock-pg-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  chmod(tmpl.c_str(), 0755);
  std::error_code ec;
  fs::create_directories(tmpl + "/sock", ec);
  if (ec || (as_nobody && !ChownToNobody(tmpl + "/sock"))) {
    fs::remove_all(tmpl, ec);
    return "";
  }
  return tmpl;
}

// Replication clusters trust loopback only, for sessions and for WAL streaming alike.
constexpr char kReplicationHba[] =
    "local all all trust\n"
    "host all all 127.0.0.1/32 trust\n"
    "host replication all 127.0.0.1/32 trust\n";

}  // namespace

std::unique_ptr<PgCluster> PgCluster::Start(const Options& options, std::string* error) {
  std::unique_ptr<PgCluster> c(new PgCluster());
  c->options_ = options;
  c->bin_ = PgBin();
  c->as_nobody_ = geteuid() == 0;
  c->dir_ = MakeClusterDir(c->as_nobody_);
  if (c->dir_.empty()) {
    *error = "cannot make a temporary cluster directory";
    return nullptr;
  }
  const std::string data = TemplateDataDir(c->as_nobody_, error);
  if (data.empty()) return nullptr;
  // cp -a keeps the owner (nobody) and the 0700 mode the server insists on.
  ProcessResult cp =
      RunProcess({"/bin/cp", "-a", data, c->dir_ + "/data"}, "", std::chrono::seconds(60));
  if (cp.exit_code != 0) {
    *error = "cannot copy the template cluster: " + cp.err;
    return nullptr;
  }
  if (options.replication) {
    std::ofstream hba(c->dir_ + "/data/pg_hba.conf", std::ios::trunc);
    hba << kReplicationHba;
    if (!hba.flush()) {
      *error = "cannot write pg_hba.conf";
      return nullptr;
    }
  }
  if (!c->StartOnFreePort(error)) return nullptr;
  return c;
}

bool PgCluster::StartOnFreePort(std::string* error) {
  // A port found free can be taken before the server binds it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    error->clear();
    port_ = FreePort();
    if (StartServer(error)) return true;
  }
  return false;
}

std::unique_ptr<PgCluster> PgCluster::StartStandby(const std::string& name, std::string* error) {
  if (!running_ || !options_.replication) {
    *error = "StartStandby needs a running primary started with Options::replication";
    return nullptr;
  }
  std::unique_ptr<PgCluster> s(new PgCluster());
  s->options_ = options_;
  s->options_.synchronous_standby_names.clear();  // promoted, it waits for nobody
  s->bin_ = bin_;
  s->as_nobody_ = as_nobody_;
  s->dir_ = MakeClusterDir(as_nobody_);
  if (s->dir_.empty()) {
    *error = "cannot make a temporary cluster directory";
    return nullptr;
  }
  // pg_basebackup (as the server's user) fills an empty directory it may write.
  const std::string data = s->dir_ + "/data";
  if (mkdir(data.c_str(), 0700) != 0 || (as_nobody_ && !ChownToNobody(data))) {
    *error = "cannot make " + data;
    return nullptr;
  }
  std::vector<std::string> argv = AsServerUser(as_nobody_, false);
  argv.insert(argv.end(),
              {bin_ + "/pg_basebackup", "-D", data, "-h", "127.0.0.1", "-p", std::to_string(port_),
               "-U", "postgres", "-w", "-R", "-X", "stream", "-c", "fast", "--no-sync"});
  ProcessResult r = RunProcess(argv, "", std::chrono::seconds(60));
  if (r.exit_code != 0) {
    *error = "pg_basebackup failed" + std::string(r.timed_out ? " (timed out)" : "") + ": " +
             r.out + r.err + "\nprimary log:\n" + ServerLog();
    return nullptr;
  }
  // -R wrote standby.signal and a primary_conninfo; this one adds the name the primary's
  // synchronous_standby_names and pg_stat_replication know the standby by.
  s->settings_ = {"primary_conninfo=host=127.0.0.1 port=" + std::to_string(port_) +
                  " user=postgres application_name=" + name};
  if (!s->StartOnFreePort(error)) return nullptr;
  return s;
}

bool PgCluster::WaitForStandby(const std::string& name, std::chrono::milliseconds timeout,
                               std::string* error) const {
  const std::string want = options_.synchronous_standby_names.empty() ? "" : "|sync";
  const std::string sql = "SELECT state" +
                          std::string(want.empty() ? "" : " || '|' || sync_state") +
                          " FROM pg_stat_replication WHERE application_name = '" + name + "'";
  std::string last;
  const bool streaming = WaitUntil(
      [&] {
        std::string e;
        last = Psql("postgres", sql, &e);
        if (!e.empty()) last = e;
        return e.empty() && last == "streaming" + want + "\n";
      },
      timeout, std::chrono::milliseconds(50));
  if (streaming) return true;
  *error = "standby " + name + " is not streaming after " + std::to_string(timeout.count()) +
           " ms (pg_stat_replication: '" + last + "'); primary log:\n" + ServerLog();
  return false;
}

bool PgCluster::Promote(std::chrono::milliseconds timeout, std::string* error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int seconds = static_cast<int>(
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
  std::vector<std::string> argv = AsServerUser(as_nobody_, false);
  argv.insert(argv.end(), {bin_ + "/pg_ctl", "promote", "-D", dir_ + "/data", "-w", "-t",
                           std::to_string(seconds)});
  ProcessResult r = RunProcess(argv, "", timeout + std::chrono::seconds(1));
  if (r.exit_code != 0) {
    *error = "pg_ctl promote failed" + std::string(r.timed_out ? " (timed out)" : "") + ": " +
             r.out + r.err + "\nserver log:\n" + ServerLog();
    return false;
  }
  std::string last;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  const bool promoted = WaitUntil(
      [&] {
        std::string e;
        last = Psql("postgres", "SELECT pg_is_in_recovery()", &e);
        return e.empty() && last == "f\n";
      },
      std::max(left, std::chrono::milliseconds(0)), std::chrono::milliseconds(20));
  if (promoted) return true;
  *error = "the standby still is in recovery after promote ('" + last + "'); server log:\n" +
           ServerLog();
  return false;
}

bool PgCluster::StartServer(std::string* error) {
  const std::string log = dir_ + "/server.log";
  std::vector<std::string> argv = AsServerUser(as_nobody_, /*pdeathsig=*/true);
  argv.insert(
      argv.end(),
      {bin_ + "/postgres", "-D", dir_ + "/data", "-c", "port=" + std::to_string(port_), "-c",
       "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_ + "/sock", "-c",
       "max_connections=200", "-c", "shared_buffers=32MB", "-c", "max_locks_per_transaction=256"});
  if (!options_.durable) {
    // The WAL still reaches the kernel at every commit (synchronous_commit stays on), so
    // a server killed or stopped immediately keeps every committed transaction; only a
    // machine crash could lose it.
    argv.insert(argv.end(), {"-c", "fsync=off", "-c", "full_page_writes=off"});
  }
  if (options_.replication) {
    // synchronous_commit stays on: with a synchronous standby named, a COMMIT returns once
    // the standby flushed it (to its kernel: the standby runs fsync=off too).
    argv.insert(argv.end(), {"-c", "wal_level=replica", "-c", "max_wal_senders=4", "-c",
                             "hot_standby=on", "-c", "synchronous_commit=on"});
    // Only when named: a command-line setting would override ALTER SYSTEM, with which a
    // test names a standby once its database is set up.
    if (!options_.synchronous_standby_names.empty()) {
      argv.insert(argv.end(),
                  {"-c", "synchronous_standby_names=" + options_.synchronous_standby_names});
    }
  }
  for (const std::string& setting : settings_) argv.insert(argv.end(), {"-c", setting});
  const pid_t pid = fork();
  if (pid < 0) {
    *error = "fork failed";
    return false;
  }
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  server_pid_ = pid;
  running_ = true;
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) +
                               " user=postgres dbname=postgres"
                               " connect_timeout=2";
  bool exited = false;
  const bool up = WaitUntil(
      [&] {
        int status = 0;
        exited = waitpid(pid, &status, WNOHANG) == pid;
        return exited || PQping(conninfo.c_str()) == PQPING_OK;
      },
      std::chrono::milliseconds(options_.start_timeout_ms), std::chrono::milliseconds(50));
  if (exited) {
    running_ = false;
    server_pid_ = 0;
    *error = "postgres exited at start; server log:\n" + ServerLog();
    return false;
  }
  if (up) return true;
  *error = "postgres did not accept connections within " +
           std::to_string(options_.start_timeout_ms) + " ms; server log:\n" + ServerLog();
  Stop();
  return false;
}

void PgCluster::Stop() {
  if (!running_) return;
  running_ = false;
  // SIGQUIT is pg_ctl stop -m immediate: no checkpoint, children exit at once.
  kill(server_pid_, SIGQUIT);
  int status = 0;
  if (!WaitUntil([&] { return waitpid(server_pid_, &status, WNOHANG) != 0; },
                 std::chrono::seconds(10), std::chrono::milliseconds(10))) {
    kill(server_pid_, SIGKILL);
    waitpid(server_pid_, &status, 0);
  }
  server_pid_ = 0;
}

bool PgCluster::Restart(std::string* error) {
  Stop();
  return StartServer(error);
}

PgCluster::~PgCluster() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string PgCluster::Uri(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::string PgCluster::Psql(const std::string& db, const std::string& sql,
                            std::string* error) const {
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) +
                               " user=postgres connect_timeout=5 dbname=" + db;
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string out;
  if (PQstatus(conn) != CONNECTION_OK) {
    *error = std::string("cannot connect: ") + PQerrorMessage(conn);
    PQfinish(conn);
    return "";
  }
  PGresult* r = PQexec(conn, sql.c_str());
  const ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    *error = PQresultErrorMessage(r);
  } else if (st == PGRES_TUPLES_OK) {
    for (int i = 0; i < PQntuples(r); ++i) {
      for (int j = 0; j < PQnfields(r); ++j) {
        if (j > 0) out += '|';
        out += PQgetvalue(r, i, j);
      }
      out += '\n';
    }
  }
  PQclear(r);
  PQfinish(conn);
  return out;
}

std::string PgCluster::NewDatabase(std::string* error) {
  std::string name;
  {
    std::lock_guard lock(mu_);
    name = "t" + std::to_string(++next_db_);
  }
  Psql("postgres", "CREATE DATABASE " + name + " TEMPLATE template0", error);
  if (!error->empty()) return "";
  return Uri(name);
}

std::string PgCluster::ServerLog() const { return ReadFile(dir_ + "/server.log"); }

PgTestEnvironment* PgTestEnvironment::Instance() {
  static PgTestEnvironment* env = [] {
    auto* e = new PgTestEnvironment();
    ::testing::AddGlobalTestEnvironment(e);  // GoogleTest owns it and tears it down
    return e;
  }();
  return env;
}

PgCluster* PgTestEnvironment::Cluster(std::string* error) {
  std::lock_guard lock(mu_);
  if (!tried_) {
    tried_ = true;
    cluster_ = PgCluster::Start(PgCluster::Options{}, &start_error_);
  }
  if (cluster_ == nullptr) *error = start_error_;
  return cluster_.get();
}

std::string PgTestEnvironment::NewDatabase(std::string* error, PgCluster** cluster) {
  PgCluster* c = Cluster(error);
  if (cluster != nullptr) *cluster = c;
  return c == nullptr ? "" : c->NewDatabase(error);
}

void PgTestEnvironment::TearDown() {
  std::lock_guard lock(mu_);
  cluster_.reset();
}

}  // namespace interlock::testing
