#include "store/sqlite_audit_checkpoint.h"

#include <sqlite3.h>

#include <utility>

#include "store/sqlite_audit_log.h"

namespace interlock::audit {
namespace {

// The committed head of a SQLite log (never inside a transaction: it would read the
// uncommitted one).
std::function<Result<AuditHead>()> SqliteCheckpointHead(sqlite3* db) {
  return [db]() -> Result<AuditHead> {
    if (sqlite3_get_autocommit(db) == 0) {
      return Error::Internal("checkpoint requested inside an open transaction");
    }
    return ReadAuditHead(db);
  };
}

struct SqliteCheckpointDbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

// The checkpoint thread's store: the file store over its own connection, which it owns
// (closed after the file store that reads through it).
class OwningSqliteCheckpointStore final : public audit::CheckpointStore {
 public:
  OwningSqliteCheckpointStore(std::unique_ptr<sqlite3, SqliteCheckpointDbCloser> db,
                              std::string path)
      : db_(std::move(db)), file_(MakeSqliteCheckpointStore(db_.get(), std::move(path))) {}
  Result<AuditHead> CommittedHead() override { return file_->CommittedHead(); }
  Status Append(const audit::Checkpoint& cp) override { return file_->Append(cp); }
  Result<std::vector<audit::Checkpoint>> List() override { return file_->List(); }

 private:
  std::unique_ptr<sqlite3, SqliteCheckpointDbCloser> db_;
  std::unique_ptr<audit::CheckpointStore> file_;
};

}  // namespace

std::unique_ptr<audit::CheckpointStore> MakeSqliteCheckpointStore(sqlite3* db, std::string path) {
  return MakeFileCheckpointStore(std::move(path), SqliteCheckpointHead(db));
}

Result<audit::Checkpoint> WriteCheckpointNow(sqlite3* db, const SigningKey& key,
                                             const std::string& path, TimePoint now) {
  return WriteCheckpointNow(*MakeSqliteCheckpointStore(db, path), key, now);
}

Status MaybeCheckpoint(Checkpointer& checkpointer, sqlite3* db) {
  return checkpointer.MaybeCheckpoint(*MakeSqliteCheckpointStore(db, checkpointer.path()));
}

Status CheckpointIfChanged(Checkpointer& checkpointer, sqlite3* db) {
  return checkpointer.CheckpointIfChanged(*MakeSqliteCheckpointStore(db, checkpointer.path()));
}

Result<std::unique_ptr<CheckpointThread>> StartSqliteCheckpointThread(
    const std::string& store_path, std::unique_ptr<Checkpointer> checkpointer,
    std::chrono::milliseconds poll, std::function<void(const Error&)> on_error) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(store_path.c_str(), &raw,
                                 SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, SqliteCheckpointDbCloser> db(raw);
  if (rc != SQLITE_OK) {
    return Error::Unavailable("checkpoint thread cannot open store " + store_path + ": " +
                              (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, 2000);
  auto store = std::make_unique<OwningSqliteCheckpointStore>(std::move(db), checkpointer->path());
  return CheckpointThread::Start(std::move(store), std::move(checkpointer), poll,
                                 std::move(on_error));
}

}  // namespace interlock::audit
