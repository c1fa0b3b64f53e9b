// `interlock audit`: verify, export, hash, checkpoint and prune the audit log.
//
// Every subcommand works on the store file directly with its own connection (read-only
// where it only reads), so it runs beside a live daemon and when the daemon is down.
// Exit codes: 0 ok; 1 the log failed verification (or an operation refused); 2 bad
// flags or input that cannot be read (missing/foreign store, bad key or checkpoint file).
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "audit/checkpoint.h"
#include "audit/export.h"
#include "audit/keys.h"
#include "audit/redact.h"
#include "audit/retention.h"
#include "audit/verify.h"
#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/json.h"
#include "common/time.h"
#include "store/postgres_audit.h"
#include "store/postgres_read.h"
#include "store/postgres_store.h"
#include "store/sqlite_audit_checkpoint.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_record_source.h"

namespace interlock::cli {
namespace {

struct VerifyArgs {
  std::string store, checkpoints, pubkey;
  bool deep = false;
};

// With neither --checkpoints nor --pubkey on a SQLite store, the store's own: its keys
// directory's checkpoint file and public key, when both exist (said on stderr).
VerifyArgs WithDefaultCheckpoints(VerifyArgs a) {
  if (store::IsPostgresUri(a.store) || !a.checkpoints.empty() || !a.pubkey.empty()) return a;
  const std::string keys = audit::DefaultKeysDir(a.store);
  const std::string cps = audit::DefaultCheckpointsFile(keys);
  const std::string pub = (std::filesystem::path(keys) / audit::kPublicKeyFile).string();
  std::error_code ec;
  if (!std::filesystem::exists(cps, ec) || !std::filesystem::exists(pub, ec)) return a;
  std::cerr << "interlock audit verify: using the store's checkpoints " << cps << " and public key "
            << pub << " (--checkpoints and --pubkey choose others)\n";
  a.checkpoints = cps;
  a.pubkey = pub;
  return a;
}

int RunVerify(const VerifyArgs& given) {
  const VerifyArgs a = WithDefaultCheckpoints(given);
  const bool postgres = store::IsPostgresUri(a.store);
  // On PostgreSQL --pubkey alone checks the database's own checkpoints (audit_checkpoints);
  // --checkpoints adds a file's (a daemon's copy, which the database's writers cannot reach).
  if (!a.checkpoints.empty() && a.pubkey.empty()) {
    return Fail("audit verify",
                Error::Invalid("--checkpoints and --pubkey go together: the public key "
                               "checks the checkpoints' signatures"));
  }
  if (!postgres && a.checkpoints.empty() != a.pubkey.empty()) {
    return Fail("audit verify",
                Error::Invalid("--checkpoints and --pubkey go together: the public key "
                               "checks the checkpoints' signatures"));
  }
  // A file is SQLite, on its own read-only connection; a postgresql:// URI is read in one
  // snapshot of the database every daemon of a fleet writes (store/postgres_read.h).
  audit::SqliteDb db;
  std::unique_ptr<audit::RecordSource> source;
  if (postgres) {
    Result<std::unique_ptr<audit::RecordSource>> pg = store::OpenPostgresRecordSource(a.store);
    if (!pg.ok()) return Fail("audit verify", pg.error());
    source = std::move(pg).value();
  } else {
    Result<audit::SqliteDb> opened = audit::OpenAuditStore(a.store, /*read_only=*/true);
    if (!opened.ok()) return Fail("audit verify", opened.error());
    db = std::move(opened).value();
    source = audit::MakeSqliteRecordSource(db.get());
  }
  std::vector<audit::Checkpoint> cps;
  std::unique_ptr<audit::PublicKey> pub;
  if (!a.checkpoints.empty()) {
    Result<std::vector<audit::Checkpoint>> read = audit::ReadCheckpoints(a.checkpoints);
    if (!read.ok()) return Fail("audit verify", read.error());
    cps = std::move(read).value();
  }
  if (!a.pubkey.empty()) {
    // The backend's own checkpoints, read in the records' snapshot (none for SQLite).
    Result<std::vector<audit::Checkpoint>> stored = source->StoredCheckpoints();
    if (!stored.ok()) return Fail("audit verify", stored.error());
    for (audit::Checkpoint& cp : *stored) cps.push_back(std::move(cp));
    Result<audit::PublicKey> k = audit::PublicKey::LoadFile(a.pubkey);
    if (!k.ok()) return Fail("audit verify", k.error());
    pub = std::make_unique<audit::PublicKey>(std::move(k).value());
  }
  audit::VerifyOptions opt;
  opt.checkpoints = cps;
  opt.public_key = pub.get();
  opt.deep = a.deep;
  Result<audit::VerifyReport> r = audit::VerifyAuditLog(*source, opt);
  if (!r.ok()) return Fail("audit verify", r.error());
  if (!r->ok) {
    std::cout << audit::VerifySummary(*r) << '\n';
    return kExitFailure;
  }
  std::cout << audit::VerifySummary(*r) << '\n';
  return kExitOk;
}

struct ExportArgs {
  std::string store, since, until, agent, run, format = "jsonl";
};

int RunExport(const ExportArgs& a) {
  if (a.format != "jsonl") {
    return Fail("audit export",
                Error::Invalid("--format " + a.format + " is not supported; use jsonl"));
  }
  audit::AuditFilter f;
  Result<TimePoint> since = audit::ParseDateArg(a.since, false);
  if (!since.ok()) return Fail("audit export", Error::Invalid("--since: " + since.error().message));
  f.since = *since;
  if (!a.until.empty()) {
    Result<TimePoint> until = audit::ParseDateArg(a.until, true);
    if (!until.ok())
      return Fail("audit export", Error::Invalid("--until: " + until.error().message));
    f.until = *until;
  }
  f.agent_id = a.agent;
  f.run_id = a.run;
  Result<audit::ExportStats> st = Error::Internal("unreached");
  if (store::IsPostgresUri(a.store)) {
    // One snapshot of the fleet's database, scanned in seq order (store/postgres_read.h).
    Result<std::unique_ptr<audit::RecordSource>> pg = store::OpenPostgresRecordSource(a.store);
    if (!pg.ok()) return Fail("audit export", pg.error());
    st = audit::ExportJsonl(**pg, f, std::cout);
  } else {
    Result<audit::SqliteDb> db = audit::OpenAuditStore(a.store, /*read_only=*/true);
    if (!db.ok()) return Fail("audit export", db.error());
    st = audit::ExportJsonl(db->get(), f, std::cout);
  }
  if (!st.ok()) return Fail("audit export", st.error(), kExitFailure);
  std::cerr << "exported " << st->records << " records";
  if (st->records > 0) std::cerr << " (seq " << st->first_seq << ".." << st->last_seq << ")";
  std::cerr << '\n';
  return kExitOk;
}

struct HashArgs {
  std::string value, keys;
  bool json = false;
};

int RunHash(const HashArgs& a) {
  boost::json::value v;
  if (a.json) {
    Result<boost::json::value> parsed = ParseJsonStrict(a.value);
    if (!parsed.ok())
      return Fail("audit hash", Error::Invalid("--json: " + parsed.error().message));
    v = std::move(parsed).value();
  } else {
    v = boost::json::string(a.value);
  }
  Result<std::string> key = audit::LoadHmacKey(a.keys);
  if (!key.ok()) return Fail("audit hash", key.error());
  std::cout << audit::Redactor(std::move(key).value()).Hash(v) << '\n';
  return kExitOk;
}

struct CheckpointArgs {
  std::string store, keys, checkpoints;
  int days = audit::kDefaultRetentionDays;
};

int RunCheckpoint(const CheckpointArgs& a) {
  Result<audit::AuditKeys> keys = audit::LoadAuditKeys(a.keys);
  if (!keys.ok()) return Fail("audit checkpoint", keys.error());
  const bool postgres = store::IsPostgresUri(a.store);
  if (!postgres && a.checkpoints.empty()) {
    return Fail("audit checkpoint",
                Error::Invalid("--checkpoints FILE is required for a SQLite store"));
  }
  Result<audit::Checkpoint> cp = Error::Internal("unreached");
  if (postgres) {
    // Into the fleet's table, and into --checkpoints when given (store/postgres_audit.h).
    auto cps = store::OpenPostgresCheckpointStore(a.store, a.checkpoints);
    if (!cps.ok()) return Fail("audit checkpoint", cps.error());
    cp = audit::WriteCheckpointNow(**cps, keys->signing_key, SystemClock().Now());
  } else {
    Result<audit::SqliteDb> db = audit::OpenAuditStore(a.store, /*read_only=*/true);
    if (!db.ok()) return Fail("audit checkpoint", db.error());
    cp =
        audit::WriteCheckpointNow(db->get(), keys->signing_key, a.checkpoints, SystemClock().Now());
  }
  if (!cp.ok()) return Fail("audit checkpoint", cp.error(), kExitFailure);
  if (cp->seq == 0) {
    std::cout << "the audit log is empty; no checkpoint written\n";
  } else {
    std::cout << "checkpoint: seq " << cp->seq << " " << cp->hash << " at " << cp->time << " -> "
              << (postgres ? std::string("the database's audit_checkpoints") : a.checkpoints)
              << (postgres && !a.checkpoints.empty() ? " and " + a.checkpoints : "") << '\n';
  }
  return kExitOk;
}

int RunPrune(const CheckpointArgs& a) {
  Result<audit::AuditKeys> keys = audit::LoadAuditKeys(a.keys);
  if (!keys.ok()) return Fail("audit prune", keys.error());
  const bool postgres = store::IsPostgresUri(a.store);
  audit::PruneOptions opt;
  opt.days = a.days;
  opt.now = SystemClock().Now();
  opt.checkpoint_file = a.checkpoints;
  // On PostgreSQL: one pruner per fleet (advisory lock), anchors into the database's table
  // (and the file when given), records deleted in short transactions.
  Result<audit::PruneReport> r = PruneStoreAudit(a.store, keys->signing_key, opt);
  if (!r.ok()) {
    // A missing --checkpoints or store is the caller's; anything else is the prune's.
    const ErrorKind k = r.error().kind;
    return Fail(
        "audit prune", r.error(),
        k == ErrorKind::kInvalidArgument || k == ErrorKind::kNotFound ? kExitUsage : kExitFailure);
  }
  if (r->deleted == 0) {
    std::cout << "nothing older than " << a.days << " days to prune\n";
  } else {
    std::cout << "pruned " << r->deleted << " records; the log now starts at seq "
              << r->first_kept_seq << ", anchored by the checkpoint for seq " << r->anchor.seq
              << " in "
              << (postgres ? std::string("the database's audit_checkpoints") : a.checkpoints)
              << '\n';
  }
  return kExitOk;
}

void AddAudit(CLI::App& app, int* exit_code) {
  CLI::App* audit = app.add_subcommand(
      "audit", "Verify, export, hash, checkpoint and prune the tamper-evident audit log");
  audit->require_subcommand(1);

  auto [verify, v] = AddSubcommand<VerifyArgs>(
      *audit, "verify", "Check the hash chain (and signed checkpoints); exit 0 only when intact",
      exit_code, &RunVerify);
  AddStoreFlag(verify, &v->store);
  verify->add_option("--checkpoints", v->checkpoints, "Checkpoint file (JSON lines)");
  verify->add_option("--pubkey", v->pubkey,
                     "Checkpoint public key (checkpoint-ed25519.pub.pem); on PostgreSQL it also "
                     "checks the database's own checkpoints");
  verify->add_flag("--deep", v->deep, "Also parse every body strictly (slower)");

  auto [exp, e] = AddSubcommand<ExportArgs>(
      *audit, "export", "Stream records as JSON lines, each with its hash and prev (for a SIEM)",
      exit_code, &RunExport);
  AddStoreFlag(exp, &e->store);
  exp->add_option("--since", e->since, "From this time (YYYY-MM-DD or RFC 3339), inclusive")
      ->required();
  exp->add_option("--until", e->until,
                  "Until this time, exclusive (a date YYYY-MM-DD includes that whole day)");
  exp->add_option("--agent", e->agent, "Only this agent's records");
  exp->add_option("--run", e->run, "Only this run's records");
  exp->add_option("--format", e->format, "Output format (jsonl)");

  auto [hash, h] = AddSubcommand<HashArgs>(
      *audit, "hash", "Print the redaction hash of VALUE, to ask \"was this secret used?\"",
      exit_code, &RunHash);
  hash->add_option("VALUE", h->value, "The value (a string, or JSON with --json)")->required();
  hash->add_option("--keys", h->keys, "Key directory holding audit-hmac.key")->required();
  hash->add_flag("--json", h->json, "VALUE is a JSON value, not a string");

  auto [cp, c] = AddSubcommand<CheckpointArgs>(
      *audit, "checkpoint", "Sign and append a checkpoint of the head", exit_code, &RunCheckpoint);
  AddStoreFlag(cp, &c->store);
  cp->add_option("--keys", c->keys, "Key directory")->required();
  cp->add_option("--checkpoints", c->checkpoints,
                 "Checkpoint file to append to (required for SQLite; for PostgreSQL a copy of "
                 "the row written to the database's audit_checkpoints)");

  auto [prune, p] = AddSubcommand<CheckpointArgs>(
      *audit, "prune", "Delete records older than --days after writing a signed anchor checkpoint",
      exit_code, &RunPrune);
  AddStoreFlag(prune, &p->store);
  prune->add_option("--keys", p->keys, "Key directory")->required();
  prune->add_option("--checkpoints", p->checkpoints,
                    "Checkpoint file (anchor appended; required for SQLite; for PostgreSQL a "
                    "copy of the anchors written to the database's audit_checkpoints)");
  prune->add_option("--days", p->days, "Retention in days (default 90)")
      ->check(CLI::Range(1, 36500));
}

const CommandRegistration kRegisterAudit("audit", &AddAudit);

}  // namespace
}  // namespace interlock::cli
