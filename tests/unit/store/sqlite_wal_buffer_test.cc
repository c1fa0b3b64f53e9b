// The WAL-buffering VFS (store/sqlite_wal_buffer.h): what SQLite writes through it is what
// a plain connection reads back, a reader never sees part of a commit, and a process
// killed after an answer loses nothing it answered.
#include "store/sqlite_wal_buffer.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace interlock::store {
namespace INTERLOCK_TEST_NS {

using ::interlock::testing::TempDir;

// SQLite's allocator, wrapped so that a test can refuse every allocation of at least
// `fail_from` bytes (the WAL buffer takes its memory from sqlite3_realloc64). Installed
// before SQLite initialises (a static initialiser of this file: SQLite refuses a new
// allocator afterwards); it refuses nothing until a test asks (NoMemoryFrom).
sqlite3_mem_methods real_malloc{};
std::atomic<int64_t> fail_from{0};  // 0: refuse nothing
std::atomic<int64_t> refused{0};

bool Refuses(int bytes) {
  const int64_t from = fail_from.load();
  if (from == 0 || bytes < from) return false;
  ++refused;
  return true;
}

const bool malloc_wrapped = [] {
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_malloc) != SQLITE_OK) return false;
  static sqlite3_mem_methods wrapped = real_malloc;
  wrapped.xMalloc = [](int n) { return Refuses(n) ? nullptr : real_malloc.xMalloc(n); };
  wrapped.xRealloc = [](void* p, int n) {
    return Refuses(n) ? nullptr : real_malloc.xRealloc(p, n);
  };
  return sqlite3_config(SQLITE_CONFIG_MALLOC, &wrapped) == SQLITE_OK;
}();

// While in scope, SQLite's allocations of `bytes` or more fail.
class NoMemoryFrom {
 public:
  explicit NoMemoryFrom(int64_t bytes) {
    refused = 0;
    fail_from = bytes;
  }
  ~NoMemoryFrom() { fail_from = 0; }
  NoMemoryFrom(const NoMemoryFrom&) = delete;
  NoMemoryFrom& operator=(const NoMemoryFrom&) = delete;
};

sqlite3* OpenDb(const std::string& path, const char* vfs) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, vfs),
            SQLITE_OK);
  return db;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err != nullptr ? err : "") << " in " << sql;
}

int64_t Int(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
  EXPECT_EQ(sqlite3_step(s), SQLITE_ROW) << sqlite3_errmsg(db);
  const int64_t v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

std::string Text(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
  EXPECT_EQ(sqlite3_step(s), SQLITE_ROW) << sqlite3_errmsg(db);
  const unsigned char* t = sqlite3_column_text(s, 0);
  std::string v = t != nullptr ? reinterpret_cast<const char*>(t) : "";
  sqlite3_finalize(s);
  return v;
}

// A database at `path` opened through the VFS in WAL mode, with no automatic checkpoint
// and a table t(id, b).
sqlite3* OpenBufferedTable(const std::string& path) {
  sqlite3* db = OpenDb(path, WalBufferVfs());
  Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;");
  Exec(db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, b BLOB)");
  return db;
}

// Tests that transactions of one page, of 100 KiB, of more than one write's 128 KiB and of
// more than the 8 MiB buffer are read back whole by a connection on the default VFS, and
// that the file passes SQLite's integrity check (a flush cut at 128 KiB failed a commit
// with "disk full" before the writes were split).
TEST(WalBufferVfsTest, TransactionsOfEverySizeReadBackWhole) {
  ASSERT_NE(WalBufferVfs(), nullptr);
  TempDir dir;
  const std::string path = dir.File("w.db");
  sqlite3* db = OpenBufferedTable(path);
  int64_t want_bytes = 0;
  int64_t want_rows = 0;
  for (int rows : {1, 25, 40, 2600}) {  // x 4 KiB: 4 KiB, 100 KiB, 160 KiB, ~10 MiB
    Exec(db, "BEGIN");
    for (int i = 0; i < rows; ++i) {
      Exec(db, "INSERT INTO t(b) VALUES (randomblob(4000))");
    }
    Exec(db, "COMMIT");
    want_rows += rows;
    want_bytes += int64_t{rows} * 4000;
    sqlite3* plain = OpenDb(path, nullptr);
    EXPECT_EQ(Int(plain, "SELECT count(*) FROM t"), want_rows);
    EXPECT_EQ(Int(plain, "SELECT sum(length(b)) FROM t"), want_bytes);
    EXPECT_EQ(Text(plain, "PRAGMA integrity_check"), "ok");
    sqlite3_close(plain);
  }
  // A checkpoint reads the frames back through the VFS, then the database alone has them.
  ASSERT_EQ(sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  sqlite3* plain = OpenDb(path, nullptr);
  EXPECT_EQ(Int(plain, "SELECT count(*) FROM t"), want_rows);
  EXPECT_EQ(Text(plain, "PRAGMA integrity_check"), "ok");
  sqlite3_close(plain);
}

// Tests the attack of memory running out under the WAL buffer (a host under pressure, a
// cgroup limit): with no memory to gather a transaction's frames in (every allocation of
// the buffer's first 128 KiB refused), and with the buffer unable to grow past it (so a
// transaction is gathered in part, then written through), every commit succeeds and is
// read back whole by a connection on the default VFS, and the file passes SQLite's
// integrity check. Nothing is lost and nothing fails: the buffer only saves system calls.
TEST(WalBufferVfsTest, NoMemoryToGatherWritesThroughAndLosesNothing) {
  ASSERT_TRUE(malloc_wrapped) << "SQLite was initialised before this test could wrap its allocator";
  TempDir dir;
  const std::string path = dir.File("w.db");
  sqlite3* db = OpenBufferedTable(path);
  int64_t want_rows = 0;
  // 128 KiB: the buffer's first allocation fails, so every write goes straight through.
  // 256 KiB: the first succeeds and growing fails, so a large transaction is gathered in
  // part, flushed, and written through from there.
  for (const int64_t limit : {int64_t{128} << 10, int64_t{256} << 10}) {
    // A fresh WAL file object (its buffer starts empty): close and open again.
    sqlite3_close(db);
    db = OpenBufferedTable(path);
    NoMemoryFrom no_memory(limit);
    for (int rows : {1, 25, 40, 100}) {  // x 4 KiB: 4 KiB, 100 KiB, 160 KiB, 400 KiB
      Exec(db, "BEGIN");
      for (int i = 0; i < rows; ++i) Exec(db, "INSERT INTO t(b) VALUES (randomblob(4000))");
      Exec(db, "COMMIT");
      want_rows += rows;
      sqlite3* plain = OpenDb(path, nullptr);
      EXPECT_EQ(Int(plain, "SELECT count(*) FROM t"), want_rows) << "limit " << limit;
      EXPECT_EQ(Text(plain, "PRAGMA integrity_check"), "ok") << "limit " << limit;
      sqlite3_close(plain);
    }
    EXPECT_GT(refused.load(), 0) << "the buffer never asked for " << limit << " bytes";
  }
  sqlite3_close(db);
  sqlite3* plain = OpenDb(path, nullptr);
  EXPECT_EQ(Int(plain, "SELECT count(*) FROM t"), want_rows);
  EXPECT_EQ(Text(plain, "PRAGMA integrity_check"), "ok");
  sqlite3_close(plain);
}

// Tests that a reader on the default VFS, reading while a writer commits 30 rows per
// transaction (and rewrites rows it wrote earlier in the same transaction, so SQLite
// rewrites frames and their checksums), only ever sees whole transactions.
TEST(WalBufferVfsTest, ReaderNeverSeesPartOfACommit) {
  TempDir dir;
  const std::string path = dir.File("w.db");
  sqlite3* db = OpenDb(path, WalBufferVfs());
  Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=8;");
  Exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, batch INTEGER, b BLOB)");
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, reads{0};
  std::thread reader([&] {
    sqlite3* r = OpenDb(path, nullptr);
    while (!done.load()) {
      const int64_t n = Int(r, "SELECT count(*) FROM t");
      if (n % 30 != 0) ++bad;
      ++reads;
    }
    sqlite3_close(r);
  });
  for (int batch = 0; batch < 150; ++batch) {
    Exec(db, "BEGIN");
    for (int i = 0; i < 30; ++i) {
      Exec(db, "INSERT INTO t(batch, b) VALUES (" + std::to_string(batch) + ", randomblob(3000))");
    }
    // Touch pages written earlier in this transaction again (a small cache spills them).
    Exec(db, "UPDATE t SET b = randomblob(3000) WHERE batch = " + std::to_string(batch));
    Exec(db, "COMMIT");
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  sqlite3_close(db);
  sqlite3* plain = OpenDb(path, nullptr);
  EXPECT_EQ(Int(plain, "SELECT count(*) FROM t"), 4500);
  EXPECT_EQ(Text(plain, "PRAGMA integrity_check"), "ok");
  sqlite3_close(plain);
}

// Tests that a process killed (SIGKILL) while it commits through the VFS, with the caller
// committing and fsyncing, loses no run it had answered, and leaves a database that opens
// and passes SQLite's integrity check.
TEST(WalBufferVfsTest, KilledWriterLosesNothingItAnswered) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    StoreOptions o;
    o.path = path;
    o.durable_full = true;
    o.commit_on_caller = true;
    auto s = SqliteStore::Open(o);
    if (!s.ok()) ::_exit(3);
    for (int i = 0;; ++i) {
      const std::string id = "run-" + std::to_string(i);
      auto run = (*s)->CreateRun("agent", id, std::chrono::system_clock::now());
      if (!run.ok()) ::_exit(4);
      const std::string line = id + "\n";  // answered: durable from here on
      if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        ::_exit(5);
      }
    }
  }
  ::close(fds[1]);
  std::vector<std::string> answered;
  std::string buf;
  char chunk[256];
  while (answered.size() < 300) {
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    ASSERT_GT(n, 0) << "the writer died early";
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      answered.push_back(buf.substr(0, nl));
      buf.erase(0, nl + 1);
    }
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ::close(fds[0]);
  sqlite3* plain = OpenDb(path, nullptr);
  EXPECT_EQ(Text(plain, "PRAGMA integrity_check"), "ok");
  std::set<std::string> runs;
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(plain, "SELECT run_id FROM runs", -1, &s, nullptr), SQLITE_OK);
  while (sqlite3_step(s) == SQLITE_ROW) {
    runs.insert(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
  }
  sqlite3_finalize(s);
  sqlite3_close(plain);
  for (const std::string& id : answered) EXPECT_TRUE(runs.count(id)) << id << " was answered";
  // The store opens again (its own checks and migration) and reads an answered run.
  StoreOptions o;
  o.path = path;
  auto reopened = SqliteStore::Open(o);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_TRUE((*reopened)->GetRun(answered.back()).ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::store
