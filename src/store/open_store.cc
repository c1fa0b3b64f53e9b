#include "store/open_store.h"

#include <utility>

#include "store/postgres_store.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_history_source.h"
#include "store/sqlite_store.h"

namespace interlock::store {

Result<std::unique_ptr<core::Store>> OpenStore(const StoreOptions& options) {
  if (IsPostgresUri(options.path)) {
    PostgresOptions p;
    static_cast<BackendOptions&>(p) = options;
    p.uri = options.path;
    Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(p);
    if (!s.ok()) return s.error();
    return std::unique_ptr<core::Store>(std::move(s).value());
  }
  Result<std::unique_ptr<SqliteStore>> s = SqliteStore::Open(options);
  if (!s.ok()) return s.error();
  return std::unique_ptr<core::Store>(std::move(s).value());
}

StoreOptions OperatorStoreOptions(std::string path, audit::CheckpointSigner signer,
                                  OperatorWrite write) {
  StoreOptions o;
  o.path = std::move(path);
  o.checkpoint_signer = std::move(signer);
  if (write == OperatorWrite::kExistingStore) {
    o.create_if_missing = false;
    o.busy_timeout_ms = kOperatorBusyTimeoutMs;
  }
  return o;
}

namespace {

class SqliteStoreHistory final : public StoreHistory {
 public:
  explicit SqliteStoreHistory(audit::SqliteDb db) : db_(std::move(db)), source_(db_.get()) {}
  const core::HistorySource& source() const override { return source_; }
  Result<audit::RunReplay> Replay(std::string_view run_id) override {
    return audit::ReplayRun(db_.get(), run_id);
  }

 private:
  audit::SqliteDb db_;
  SqliteHistorySource source_;
};

class PostgresStoreHistory final : public StoreHistory {
 public:
  explicit PostgresStoreHistory(std::unique_ptr<PostgresStore> s) : store_(std::move(s)) {}
  const core::HistorySource& source() const override { return *store_; }
  Result<audit::RunReplay> Replay(std::string_view run_id) override {
    return store_->Replay(run_id);
  }

 private:
  std::unique_ptr<PostgresStore> store_;
};

}  // namespace

Result<std::unique_ptr<StoreHistory>> OpenStoreHistory(const std::string& path) {
  if (IsPostgresUri(path)) {
    PostgresOptions o;
    o.uri = path;
    Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
    if (!s.ok()) return s.error();
    return std::unique_ptr<StoreHistory>(
        std::make_unique<PostgresStoreHistory>(std::move(s).value()));
  }
  Result<audit::SqliteDb> db = audit::OpenAuditStore(path, /*read_only=*/true);
  if (!db.ok()) return db.error();
  return std::unique_ptr<StoreHistory>(std::make_unique<SqliteStoreHistory>(std::move(db).value()));
}

}  // namespace interlock::store
