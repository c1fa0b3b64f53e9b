// OpenStore: the one way to open a store from a `--store` / `store:` value. Every opener
// of the daemon, the standalone doors and the operator commands calls it; they differ
// only in the options they hand it (OperatorStoreOptions below for the operator
// commands). OpenStoreHistory is its read-only twin for the reading commands.
//
// "postgresql://..." or "postgres://..." (a libpq URI, multi-host and
// target_session_attrs=read-write included) opens a PostgresStore; anything else is a
// SQLite file path (or ":memory:"). PostgreSQL ignores the SQLite-only options (path
// creation, durability, batch size, lock wait) and anchors through `checkpoint_signer` (a
// file `anchor` alone is refused there: it would sign outside the record's transaction).
// Thread-safety: free functions; the objects returned are as their interfaces say.
#ifndef INTERLOCK_STORE_OPEN_STORE_H_
#define INTERLOCK_STORE_OPEN_STORE_H_

#include <memory>
#include <string>
#include <string_view>

#include "audit/checkpoint_store.h"
#include "audit/replay.h"
#include "core/ports/history_source.h"
#include "core/ports/store.h"
#include "interlock/result.h"
#include "store/store_options.h"

namespace interlock::store {

Result<std::unique_ptr<core::Store>> OpenStore(const StoreOptions& options);

// How long an operator command's write waits for SQLite's lock while a busy daemon
// writes, where a daemon or a door gives up after StoreOptions' default busy_timeout_ms.
inline constexpr int kOperatorBusyTimeoutMs = 30000;

// What an operator command writes to the store for.
enum class OperatorWrite {
  // `kill`, `token list|revoke`, `incident mark`, `trust promote`, `mcp pins`: the store
  // must already exist (a typo in --store must not create an empty database and report
  // success), and a write waits up to kOperatorBusyTimeoutMs for SQLite's lock rather
  // than give up while a busy daemon writes.
  kExistingStore,
  // `token create`, `claude-code setup`: a deployment's first token comes before its
  // daemon has ever made the store, so the store is created when missing; the lock wait
  // is StoreOptions' default (a token creation has always failed fast rather than queue
  // behind a daemon).
  kToken,
};

// The options of a store an operator command writes to. `signer` anchors the records that
// need it (kill switches, tokens) into its checkpoint file (on PostgreSQL also the fleet's
// checkpoint table); empty: nothing is anchored.
StoreOptions OperatorStoreOptions(std::string path, audit::CheckpointSigner signer = {},
                                  OperatorWrite write = OperatorWrite::kExistingStore);

// The audit history of a store for the reading commands (drift, trust report, replay): a
// SQLite file opened read-only, or a PostgreSQL URI (a PostgresStore: the one chain every
// daemon of a fleet writes). `source` reads either; `Replay` rebuilds one run.
class StoreHistory {
 public:
  virtual ~StoreHistory() = default;
  virtual const core::HistorySource& source() const = 0;
  virtual Result<audit::RunReplay> Replay(std::string_view run_id) = 0;
};
Result<std::unique_ptr<StoreHistory>> OpenStoreHistory(const std::string& path);

}  // namespace interlock::store

#endif  // INTERLOCK_STORE_OPEN_STORE_H_
