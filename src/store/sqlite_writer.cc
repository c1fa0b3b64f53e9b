// SqliteStore::Impl's writer: the queue, group commits, the run cache, and the syncer and
// checkpointer threads (sqlite_store_internal.h).

#include "store/sqlite_audit_log.h"
#include "store/sqlite_store_internal.h"

#include "common/await.h"

namespace interlock::store {

void SqliteStore::Impl::Submit(Op op) {
  if (op.lazy) {
    // Counted until it is finished, after its COMMIT: Read waits for it meanwhile.
    lazy_pending_.fetch_add(1, std::memory_order_acq_rel);
    op.finish = [this, finish = std::move(op.finish)](Status s) mutable {
      lazy_pending_.fetch_sub(1, std::memory_order_acq_rel);
      if (finish) finish(std::move(s));
    };
  }
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      const bool lead = caller_commits_ && !op.lazy;
      if (!op.lazy) ++eager_queued_;
      if (caller_commits_ && op.lazy) op.queued_at = std::chrono::steady_clock::now();
      queue_.push_back(std::move(op));
      ticket = ++queued_seq_;
      if (!lead) {
        // With commit_on_caller the writer thread is woken only from its idle wait (it
        // then sleeps until the oldest lazy op is due); one-shot stores have no writer
        // thread: a lazy op waits for the next write or the close.
        if (!caller_commits_ || writer_idle_) cv_.notify_one();
        return;
      }
    }
  }
  if (ticket == 0) {
    op.finish(Error::Unavailable("store: closing"));
    return;
  }
  LeadUntil(ticket);
}

void SqliteStore::Impl::PopBatch(std::vector<Op>* batch) {
  const size_t n = std::min(queue_.size(), static_cast<size_t>(std::max(1, options_.max_batch)));
  for (size_t i = 0; i < n; ++i) {
    // An anchored op commits alone: its anchor covers its records only.
    const bool anchored = queue_.front().anchor != core::AnchorNeed::kNone;
    if (anchored && !batch->empty()) break;
    if (!queue_.front().lazy) --eager_queued_;
    batch->push_back(std::move(queue_.front()));
    queue_.pop_front();
    ++taken_seq_;
    if (anchored) break;
  }
}

void SqliteStore::Impl::LeadUntil(uint64_t ticket) {
  std::vector<Op> batch;
  std::vector<Answered> answers;
  for (;;) {
    {
      std::lock_guard commit(commit_mu_);
      {
        std::lock_guard lock(mu_);
        // Batches run whole under commit_mu_: an op taken is an op committed.
        if (taken_seq_ >= ticket || queue_.empty()) break;
        batch.clear();
        PopBatch(&batch);
      }
      RunBatch(batch);
      answers.swap(deferred_);
    }
    for (Answered& a : answers) a.finish(std::move(a.status));
    answers.clear();
  }
}

void SqliteStore::Impl::Answer(std::function<void(Status)>& finish, Status s) {
  if (caller_commits_) {
    deferred_.push_back(Answered{std::move(finish), std::move(s)});
  } else {
    finish(std::move(s));
  }
}

Status SqliteStore::Impl::SubmitAndWait(std::function<Status(Batch&)> apply,
                                        core::AnchorNeed anchor) {
  return AwaitCallback<Status>([&](auto done) {
    Op op{std::move(apply), std::move(done)};
    op.anchor = anchor;
    Submit(std::move(op));
  });
}

Result<RunRow*> SqliteStore::Impl::FindRun(std::string_view run_id) {
  if (auto it = run_cache_.find(run_id); it != run_cache_.end()) return &it->second;
  Result<RunRow> row = LoadRun(writer_, run_id);
  if (!row.ok()) return row.error();
  return CacheRun(std::string(run_id), std::move(row).value());
}

RunRow* SqliteStore::Impl::CacheRun(std::string run_id, RunRow row) {
  if (run_cache_.size() >= kRunCacheMax) {
    // Dirty rows (at most one batch's worth) are not yet written: keep them.
    std::erase_if(run_cache_, [](const auto& kv) { return !kv.second.dirty; });
  }
  return &(run_cache_.insert_or_assign(std::move(run_id), std::move(row)).first->second);
}

void SqliteStore::Impl::ForgetRuns() {
  run_cache_.clear();
  dirty_runs_.clear();
}

Status SqliteStore::Impl::FlushRuns() {
  for (const std::string& run_id : dirty_runs_) {
    auto it = run_cache_.find(run_id);
    if (it == run_cache_.end() || !it->second.dirty) continue;
    const RunState& state = it->second.state;
    std::string& records_json = scratch_records_;
    records_json.clear();
    audit::AppendCanonicalRecords(&records_json, state);
    const std::string sequence_json = core::SequenceStoreJson(state);
    Result<sqlite3_stmt*> s = writer_.Get(kUpdateRun);
    if (!s.ok()) return s.error();
    Query q(*s);
    q.Int(1, static_cast<int64_t>(state.steps))
        .Int(2, static_cast<int64_t>(state.tokens))
        .Int(3, state.cost_micros)
        .Int(4, state.halted ? 1 : 0)
        .TextStatic(5, state.halt_reason)
        .TextStatic(6, records_json)
        .TextStatic(7, sequence_json)
        .TextStatic(8, run_id);
    if (q.Step() != SQLITE_DONE) return SqlError(writer_.db(), "update run");
    if (sqlite3_changes(writer_.db()) != 1) {
      return Error::Unavailable("store: run " + run_id + " vanished during a batch");
    }
    it->second.dirty = false;
  }
  dirty_runs_.clear();
  return Status::Ok();
}

Status SqliteStore::Impl::CheckDataVersion() {
  Result<sqlite3_stmt*> s = writer_.Get(kDataVersion);
  if (!s.ok()) return s.error();
  Query q(*s);
  if (q.Step() != SQLITE_ROW) return SqlError(writer_.db(), "read data_version");
  const int64_t v = q.ColInt(0);
  if (v != data_version_) {
    run_cache_.clear();
    data_version_ = v;
  }
  return Status::Ok();
}

int SqliteStore::Impl::WalHook(void* self, sqlite3*, const char*, int pages) {
  Impl* impl = static_cast<Impl*>(self);
  impl->wal_pages_ = pages;
  impl->committed_frames_ = true;
  // One background pass per kCheckpointPages new frames, not one per commit: each pass
  // costs two fsyncs (WAL, then database), whatever it copies.
  if (pages < impl->wal_pages_signalled_) impl->wal_pages_signalled_ = 0;  // rewound
  if (pages - impl->wal_pages_signalled_ >= kCheckpointPages) {
    impl->wal_pages_signalled_ = pages;
    {
      std::lock_guard lock(impl->ckpt_mu_);
      impl->ckpt_wanted_ = true;
    }
    impl->ckpt_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::Impl::CheckpointLoop() {
  std::unique_lock lock(ckpt_mu_);
  while (!ckpt_stop_) {
    ckpt_cv_.wait_for(lock, kCheckpointInterval, [&] { return ckpt_stop_ || ckpt_wanted_; });
    if (ckpt_stop_) return;
    ckpt_wanted_ = false;
    lock.unlock();
    {
      std::lock_guard pass(ckpt_pass_mu_);
      sqlite3_wal_checkpoint_v2(ckpt_.db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    lock.lock();
  }
}

Status SqliteStore::Impl::LoadKills(core::EngagedKills* out) {
  out->Clear();
  Result<sqlite3_stmt*> s = writer_.Get(kSelectEngagedKills);
  if (!s.ok()) return s.error();
  Query q(*s);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    out->Set(q.ColText(0), q.ColText(1), true, q.ColText(2));
  }
  if (rc != SQLITE_DONE) return SqlError(writer_.db(), "read kill switches");
  return Status::Ok();
}

void SqliteStore::Impl::LazyWriterLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    writer_idle_ = true;
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    writer_idle_ = false;
    if (queue_.empty()) return;  // stopping and drained
    if (!stopping_) {
      // A caller's commit usually carries the lazy op before it is due: look again then.
      const auto due = queue_.front().queued_at + kLazyDelay;
      if (std::chrono::steady_clock::now() < due) {
        cv_.wait_until(lock, due, [&] { return stopping_; });
        continue;
      }
    }
    const uint64_t queued = queued_seq_;
    lock.unlock();
    LeadUntil(queued);
    lock.lock();
  }
}

namespace {
// True on a store's writer and syncer threads, which answer writes (Op::finish): a read
// from an answer there must not wait for a commit those threads would have to make.
thread_local bool tls_store_thread = false;
}  // namespace

bool SqliteStore::Impl::OnStoreThread() { return tls_store_thread; }

void SqliteStore::Impl::WriterLoop() {
  tls_store_thread = true;
  if (caller_commits_) return LazyWriterLoop();
  std::vector<Op> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      if (eager_queued_ == 0) {
        // Only lazy ops: give a waited-for op a moment to share their commit.
        cv_.wait_for(lock, kLazyDelay, [&] { return stopping_ || eager_queued_ > 0; });
      }
      PopBatch(&batch);
    }
    RunBatch(batch);
  }
}

void SqliteStore::Impl::RunBatch(std::vector<Op>& batch) {
  const bool rerunnable =
      std::all_of(batch.begin(), batch.end(), [](const Op& op) { return op.rerunnable; });
  if (rerunnable && RunBatchOnce(batch, /*savepoints=*/false)) return;
  RunBatchOnce(batch, /*savepoints=*/true);
}

bool SqliteStore::Impl::RunBatchOnce(std::vector<Op>& batch, bool savepoints) {
  sqlite3* db = writer_.db();
  std::vector<Status> status(batch.size());
  auto fail_all = [&](const Error& e) {
    if (sqlite3_get_autocommit(db) == 0) writer_.Exec(kRollback, "rollback").ok();
    ForgetRuns();
    for (Op& op : batch) Answer(op.finish, e);
    return true;
  };
  if (sync_failed_.load()) return fail_all(Error::Unavailable(SyncError()));
  if (Status s = writer_.Exec(kBegin, "begin"); !s.ok()) return fail_all(s.error());
  if (Status s = CheckDataVersion(); !s.ok()) return fail_all(s.error());

  std::vector<audit::AuditEvent> events;
  events.reserve(batch.size() + 8);
  Batch b;
  b.events = &events;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].rerunnable) {
      // Outside the op's savepoint: rolling the op back must not undo the flush.
      if (Status s = FlushRuns(); !s.ok()) return fail_all(s.error());
    }
    if (savepoints) {
      if (Status s = writer_.Exec(kSavepoint, "savepoint"); !s.ok()) return fail_all(s.error());
    }
    const size_t first_event = events.size();
    const int64_t changes_before = sqlite3_total_changes64(db);
    status[i] = batch[i].apply(b);
    if (sqlite3_get_autocommit(db) != 0) {
      // SQLite rolled the whole transaction back (I/O error, disk full): nothing of the
      // batch is written, so nothing may be reported as done.
      return fail_all(status[i].ok() ? Error::Unavailable("store: transaction aborted")
                                     : status[i].error());
    }
    if (status[i].ok()) {
      if (savepoints) {
        if (Status s = writer_.Exec(kRelease, "release"); !s.ok()) return fail_all(s.error());
      }
      continue;
    }
    events.erase(events.begin() + static_cast<std::ptrdiff_t>(first_event), events.end());
    b.kills_stale = true;  // the op may have changed and then rolled back a switch
    if (savepoints) {
      if (Status s = writer_.Exec(kRollbackTo, "rollback to savepoint"); !s.ok()) {
        return fail_all(s.error());
      }
      if (Status s = writer_.Exec(kRelease, "release"); !s.ok()) return fail_all(s.error());
    } else if (sqlite3_total_changes64(db) != changes_before) {
      writer_.Exec(kRollback, "rollback").ok();
      ForgetRuns();
      return false;
    }
  }
  if (Status s = FlushRuns(); !s.ok()) return fail_all(s.error());
  if (!events.empty()) {
    if (appender_ == nullptr) appender_ = std::make_unique<audit::AuditAppender>(db);
    Result<audit::AuditHead> head = appender_->Append(events);
    if (!head.ok()) return fail_all(head.error());
    if (Status s = AnchorBatch(batch, *head); !s.ok()) return fail_all(s.error());
  }
  committed_frames_ = false;
  if (Status s = writer_.Exec(kCommit, "commit"); !s.ok()) return fail_all(s.error());
  // A batch that wrote nothing (a read on the writer such as ListApprovals, a
  // CreateRun that found its run, an expiry with none due) appended no WAL frame
  // (WalHook did not run): when every earlier commit is synced too, nothing it may have
  // read is short of the disk, so it is answered without an fdatasync of its own. Else
  // it waits for the next one like any batch (a replayed decision is never answered
  // before its record is durable). Measured for the Claude Code hook
  // (docs/performance.md): one fsync per invocation instead of three.
  if (committed_frames_) ++committed_seq_;
  const bool durable_already =
      !committed_frames_ && synced_seq_.load(std::memory_order_acquire) == committed_seq_;
  if (caller_commits_ && options_.durable_full && !memory_ && !durable_already) {
    // This caller syncs: nobody is answered before an fdatasync begun after their commit.
    Status synced = SyncWal();
    if (synced.ok()) synced_seq_.store(committed_seq_, std::memory_order_release);
    for (size_t i = 0; i < batch.size(); ++i) {
      Answer(batch[i].finish, synced.ok() ? std::move(status[i]) : synced);
    }
  } else if (sync_thread_.joinable() && !durable_already) {
    Synced done;
    done.finish.reserve(batch.size());
    for (Op& op : batch) done.finish.push_back(std::move(op.finish));
    done.status = std::move(status);
    done.seq = committed_seq_;
    {
      std::lock_guard lock(sync_mu_);
      sync_queue_.push_back(std::move(done));
    }
    sync_cv_.notify_one();
  } else {
    for (size_t i = 0; i < batch.size(); ++i) Answer(batch[i].finish, std::move(status[i]));
  }
  if (wal_pages_ >= kRestartPages) RewindWal();
  return true;
}

Status SqliteStore::Impl::AnchorBatch(const std::vector<Op>& batch, const audit::AuditHead& head) {
  const audit::CheckpointSigner& signer = options_.checkpoint_signer;
  if (batch.size() != 1 || batch[0].anchor == core::AnchorNeed::kNone || !signer) {
    return Status::Ok();
  }
  Status s = [&]() -> Status {
    Result<audit::Checkpoint> cp = signer.sign(head);
    if (!cp.ok()) return cp.error();
    if (!signer.mirror) return Error::Internal("no checkpoint file to anchor into");
    return signer.mirror(*cp);
  }();
  if (s.ok()) return s;
  return core::AnchorFailed(batch[0].anchor, head.seq, s.error(), &anchor_failures_);
}

void SqliteStore::Impl::SyncLoop() {
  tls_store_thread = true;
  std::vector<Synced> work;
  for (;;) {
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return sync_stop_ || !sync_queue_.empty(); });
      if (sync_queue_.empty()) return;  // stopping and drained
      work.swap(sync_queue_);
    }
    Status synced = SyncWal();
    if (synced.ok()) synced_seq_.store(work.back().seq, std::memory_order_release);
    for (Synced& d : work) {
      for (size_t i = 0; i < d.finish.size(); ++i) {
        d.finish[i](synced.ok() ? std::move(d.status[i]) : synced);
      }
    }
    work.clear();
  }
}

Status SqliteStore::Impl::SyncWal() {
  if (sync_failed_.load()) return Error::Unavailable(SyncError());
  if (wal_fd_ < 0) {
    wal_fd_ = ::open((options_.path + "-wal").c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd_ < 0) {
      const int err = errno;  // before the message's allocations
      return FailSync(err, "open " + options_.path + "-wal");
    }
  }
  if (::fdatasync(wal_fd_) != 0) {
    const int err = errno;
    return FailSync(err, "fdatasync " + options_.path + "-wal");
  }
  return Status::Ok();
}

Status SqliteStore::Impl::FailSync(int err, const std::string& what) {
  {
    std::lock_guard lock(sync_error_mu_);
    sync_error_ = "store: " + what + ": " + std::strerror(err) +
                  " (writes refused until the process restarts)";
  }
  sync_failed_.store(true);
  return Error::Unavailable(SyncError());
}

std::string SqliteStore::Impl::SyncError() {
  std::lock_guard lock(sync_error_mu_);
  return sync_error_;
}

void SqliteStore::Impl::RewindWal() {
  // While a background pass copies, try again after the next batch rather than wait for
  // it (the writer's pass then copies little); past one and a half times the bound, wait,
  // so the WAL stays under ~96 MiB even when a starved background pass holds the lock
  // for many batches (SqliteStoreTest.WalStaysBoundedUnderSustainedWrites, on a loaded
  // machine, measured 126 MiB with the earlier 2x rule).
  std::unique_lock pass(ckpt_pass_mu_, std::defer_lock);
  if (wal_pages_ >= kRestartPages + kRestartPages / 2) {
    pass.lock();
  } else if (!pass.try_lock()) {
    return;
  }
  int log = 0;
  int done = 0;
  if (sqlite3_wal_checkpoint_v2(writer_.db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
          SQLITE_OK &&
      log == done) {
    wal_pages_ = 0;
  }
}

}  // namespace interlock::store
