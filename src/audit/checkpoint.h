// Signed checkpoints of the audit chain's head, written to a file outside the store.
//
// A checkpoint {seq, hash, time} states "record `seq` existed with chain hash `hash` at
// `time`". It is signed with the deployment's Ed25519 key over
//   "interlock.checkpoint.v1" 0x00 canonical-JSON({"hash":..,"seq":..,"time":..})
// and appended as one JSON line to the checkpoint file (fsync'd), for example
//   {"hash":"ab..","key_id":"1f..","seq":1200,"sig":"<128 hex>","time":"2026-..Z"}
// Deleting the tail of the log is detectable because a checkpoint names a record that
// no longer exists; pruning (retention.h) writes an anchor checkpoint for the record
// before the first one it keeps. key_id is informational (not signed): it lets a
// verifier say "this file was signed with another key".
//
// Where checkpoints live is a CheckpointStore: the file alone for SQLite; for PostgreSQL
// (store/postgres_audit.h) a table of the database every daemon of a fleet shares, each
// row written in the same transaction as what it signs or before it, and copied to the
// daemon's file as well. A checkpoint is only as good as its signature: someone who can
// write the database can delete rows but cannot make one (docs/audit.md, "Fleet").
//
// Thread-safety: free functions are safe from any thread on different files;
// Checkpointer is not thread-safe (one owner; CheckpointThread owns one on its thread).
#ifndef INTERLOCK_AUDIT_CHECKPOINT_H_
#define INTERLOCK_AUDIT_CHECKPOINT_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/checkpoint_store.h"
#include "audit/keys.h"
#include "common/time.h"
#include "interlock/result.h"

namespace interlock::audit {

// The exact bytes a checkpoint signature covers.
std::string CheckpointMessage(int64_t seq, std::string_view hash, std::string_view time);

Result<audit::Checkpoint> MakeCheckpoint(const SigningKey& key, int64_t seq, std::string_view hash,
                                         TimePoint time);
bool VerifyCheckpoint(const PublicKey& key, const audit::Checkpoint& cp);

// The file at `path` (created at the first Append) as a CheckpointStore whose head is
// read by `head`.
std::unique_ptr<audit::CheckpointStore> MakeFileCheckpointStore(
    std::string path, std::function<Result<AuditHead>()> head);

// One JSON line (no trailing newline).
std::string CheckpointToJsonLine(const audit::Checkpoint& cp);

// Parses one line as CheckpointToJsonLine writes it; errors start with `where`.
Result<audit::Checkpoint> ParseCheckpointLine(std::string_view line, const std::string& where);

// Appends one line to `path` (created 0644 if missing) and fsyncs it.
Status AppendCheckpoint(const std::string& path, const audit::Checkpoint& cp);

// Reads every checkpoint of `path` in file order. A malformed line is an Error naming
// the line. A missing file is NotFound.
Result<std::vector<audit::Checkpoint>> ReadCheckpoints(const std::string& path);

// Signs with `key` at `clock`'s time (not owned; nullptr: the system clock) and mirrors
// into the file at `path` (appended and fsync'd, one write per line: safe from several
// threads and processes on one file).
audit::CheckpointSigner MakeCheckpointSigner(std::shared_ptr<const SigningKey> key,
                                             std::string path, const Clock* clock = nullptr);

// The signer of a command-line tool's store: the audit keys of `keys_dir`, signing at the
// system clock's time into `checkpoint_file` ("" = DefaultCheckpointsFile(keys_dir)).
// `create_missing_keys`: missing keys are created, as the daemon does at its first start
// (a SQLite deployment's first token comes before its daemon); else they must exist (a
// fleet's keys are shared: a key made up here would sign checkpoints that no verifier of
// the fleet accepts).
Result<audit::CheckpointSigner> LoadCheckpointSigner(const std::string& keys_dir,
                                                     const std::string& checkpoint_file,
                                                     bool create_missing_keys);

// Writes a checkpoint of the current head of `store` now, unless the log is empty.
// Returns the checkpoint written (seq 0 when the log was empty and nothing was written).
Result<audit::Checkpoint> WriteCheckpointNow(audit::CheckpointStore& store, const SigningKey& key,
                                             TimePoint now);

struct CheckpointerOptions {
  std::string path;                            // checkpoint file
  std::chrono::milliseconds interval{60'000};  // at most this long between checkpoints
  int64_t every_records = 10'000;              // or after this many new records
};

// Decides when to checkpoint. Remembers the last checkpointed seq (read from the
// file's last line at creation, so a restart does not repeat it) and writes a new one
// when records were appended since and either `interval` passed or `every_records`
// records accumulated.
class Checkpointer {
 public:
  // `key` and `clock` must outlive the Checkpointer. The last checkpointed seq is read
  // from `store` when given (a fleet's table), else from options.path.
  static Result<std::unique_ptr<Checkpointer>> Create(const SigningKey* key,
                                                      CheckpointerOptions options,
                                                      const Clock* clock,
                                                      audit::CheckpointStore* store = nullptr);

  // Reads the committed head of `store` and writes a checkpoint to it if due. Cheap when
  // nothing is due (SQLite: one indexed read). The SQLite store file's checkpoints go to
  // options.path (MaybeCheckpoint(Checkpointer&, db), with the SQLite store in src/store/).
  Status MaybeCheckpoint(audit::CheckpointStore& store) { return Check(store, false); }
  // Writes a checkpoint if any record was appended since the last one.
  Status CheckpointIfChanged(audit::CheckpointStore& store) { return Check(store, true); }

  int64_t last_seq() const { return last_seq_; }
  const std::string& path() const { return options_.path; }

 private:
  Checkpointer(const SigningKey* key, CheckpointerOptions options, const Clock* clock)
      : key_(key), options_(std::move(options)), clock_(clock) {}
  Status Check(audit::CheckpointStore& store, bool force);

  const SigningKey* key_;
  CheckpointerOptions options_;
  const Clock* clock_;
  int64_t last_seq_ = 0;
  TimePoint last_time_{};
};

// Runs a Checkpointer on its own thread over a CheckpointStore (for a SQLite store file,
// one with its own read-only connection, started by the SQLite store in src/store/), polling every
// `poll`. Stop() (or the destructor) wakes the thread, writes a
// final checkpoint of the head and joins. Errors go to `on_error` on that thread (log
// them and count them; the daemon keeps deciding: checkpoints protect the tail, the
// chain itself is already durable).
class CheckpointThread {
 public:
  // The store is PostgreSQL's (store/postgres_audit.h) or a SQLite file's
  // (the SQLite store in src/store/); the thread owns it.
  static Result<std::unique_ptr<CheckpointThread>> Start(
      std::unique_ptr<audit::CheckpointStore> store, std::unique_ptr<Checkpointer> checkpointer,
      std::chrono::milliseconds poll, std::function<void(const Error&)> on_error);
  ~CheckpointThread();
  CheckpointThread(const CheckpointThread&) = delete;
  CheckpointThread& operator=(const CheckpointThread&) = delete;

  void Stop();

 private:
  CheckpointThread() = default;
  void Run();

  std::unique_ptr<audit::CheckpointStore> store_;
  std::unique_ptr<Checkpointer> checkpointer_;
  std::chrono::milliseconds poll_{1000};
  std::function<void(const Error&)> on_error_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace interlock::audit

#endif  // INTERLOCK_AUDIT_CHECKPOINT_H_
