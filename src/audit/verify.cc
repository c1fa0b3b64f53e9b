#include "audit/verify.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <vector>

#include <openssl/evp.h>

#include "audit/audit_log.h"
#include "audit/record_scan.h"
#include "audit/record_source.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/time.h"

namespace interlock::audit {
namespace {

// SHA-256 with one reused context: a fresh EVP fetch per record would dominate.
class ChainHasher {
 public:
  ChainHasher() : ctx_(EVP_MD_CTX_new()), md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {}
  ~ChainHasher() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  ChainHasher(const ChainHasher&) = delete;
  ChainHasher& operator=(const ChainHasher&) = delete;

  bool ok() const { return ctx_ != nullptr && md_ != nullptr; }

  // Hex of SHA-256(domain 0 prev 0 body) into out (64 chars).
  bool Hash(std::string_view prev, std::string_view body, char out[64]) {
    static constexpr char kZero = '\0';
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, kAuditHashDomain.data(), kAuditHashDomain.size()) != 1 ||
        EVP_DigestUpdate(ctx_, &kZero, 1) != 1 ||
        EVP_DigestUpdate(ctx_, prev.data(), prev.size()) != 1 ||
        EVP_DigestUpdate(ctx_, &kZero, 1) != 1 ||
        EVP_DigestUpdate(ctx_, body.data(), body.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_, d, &n) != 1 || n != 32) {
      return false;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < 32; ++i) {
      out[2 * i] = kHex[d[i] >> 4];
      out[2 * i + 1] = kHex[d[i] & 0xf];
    }
    return true;
  }

 private:
  EVP_MD_CTX* ctx_;
  EVP_MD* md_;
};

std::string Clip(std::string_view s) {
  return s.size() <= 80 ? std::string(s) : std::string(s.substr(0, 77)) + "...";
}

std::string CpName(const audit::Checkpoint& cp) {
  std::string s = "checkpoint for seq " + std::to_string(cp.seq);
  if (cp.line > 0) s += " (line " + std::to_string(cp.line) + ")";
  return s;
}

VerifyReport Fail(VerifyReport r, int64_t seq, std::string problem) {
  r.ok = false;
  r.bad_seq = seq;
  r.problem = std::move(problem);
  return r;
}

// Checks the columns that are not part of the chain against the hashed body.
bool ColumnsMatch(const audit::AuditRow& st, const ScannedBody& b, std::string* problem) {
  struct Pair {
    const char* name;
    std::string_view column;
    std::string_view token;
  };
  const Pair pairs[] = {{"type", st.type, b.type},
                        {"run_id", st.run_id, b.run_id},
                        {"call_id", st.call_id, b.call_id},
                        {"agent_id", st.agent_id, b.agent_id},
                        {"principal", st.principal, b.principal}};
  for (const Pair& p : pairs) {
    if (!JsonStringEquals(p.token, p.column)) {
      *problem = std::string("column ") + p.name + " (\"" + Clip(p.column) +
                 "\") differs from the hashed body (" + Clip(p.token) + ")";
      return false;
    }
  }
  std::string time_text;
  if (!DecodeJsonString(b.time, &time_text)) {
    *problem = "body time is not a string";
    return false;
  }
  Result<TimePoint> t = ParseRfc3339(time_text);
  if (!t.ok()) {
    *problem = "body time is not RFC 3339: " + t.error().message;
    return false;
  }
  if (ToUnixMillis(*t) != st.time_ms) {
    *problem = "column time_ms (" + std::to_string(st.time_ms) +
               ") differs from the hashed body time (" + time_text + ")";
    return false;
  }
  return true;
}

// The record's run link (column 10) names its run's previous record: the one before it
// in this scan, or, for the run's first record here, none (0) or one pruned before
// `first_seq`.
bool CheckRunLink(const audit::AuditRow& st, int64_t seq, int64_t first_seq,
                  std::unordered_map<std::string, int64_t>* run_last, std::string* problem) {
  const int64_t link = st.run_prev;
  const std::string_view run_id = st.run_id;
  if (run_id.empty()) {
    if (link == 0) return true;
    *problem = "it has no run but a run link to seq " + std::to_string(link);
    return false;
  }
  auto [it, first] = run_last->try_emplace(std::string(run_id), seq);
  const int64_t want = first ? 0 : it->second;
  it->second = seq;
  if (link == want || (first && link > 0 && link < first_seq)) return true;
  *problem = "its run link names seq " + std::to_string(link) + ", but run " + Clip(run_id) +
             "'s previous record is " +
             (want == 0 ? std::string("none") : "seq " + std::to_string(want)) +
             " (the run's record list was edited)";
  return false;
}

// Every run seen has its head row naming its last record; a head row of a run with no
// record left names a pruned one. `problem` stays empty when all match; otherwise
// `bad_seq` is the run's last record (or the head named).
Status CheckRunHeads(audit::RecordSource& source,
                     const std::unordered_map<std::string, int64_t>& run_last, int64_t first_seq,
                     std::string* problem, int64_t* bad_seq) {
  size_t matched = 0;
  if (Status s = source.ForEachRunHead([&](std::string_view run_id, int64_t head) {
        auto it = run_last.find(std::string(run_id));
        if (it == run_last.end() ? (first_seq > 0 && head >= first_seq) : head != it->second) {
          *problem =
              "run " + Clip(run_id) + "'s head names seq " + std::to_string(head) +
              ", but its last record is " +
              (it == run_last.end() ? std::string("none") : "seq " + std::to_string(it->second)) +
              " (the run's record list was edited)";
          *bad_seq = it == run_last.end() ? head : it->second;
          return false;
        }
        if (it != run_last.end()) ++matched;
        return true;
      });
      !s.ok() || !problem->empty()) {
    return s;
  }
  if (matched != run_last.size()) {
    for (const auto& [run_id, last] : run_last) {
      Result<bool> has = source.HasRunHead(run_id);
      if (!has.ok()) return has.error();
      if (!*has) {
        *problem = "run " + Clip(run_id) + " (last record seq " + std::to_string(last) +
                   ") has no head row (the run's record list was edited)";
        *bad_seq = last;
        return Status::Ok();
      }
    }
  }
  return Status::Ok();
}

}  // namespace

namespace {

// One walk of the chain, for VerifyAuditLog: the signed checkpoints first, then every
// record in order, then the tail (checkpoints past the head, the head row, run heads).
// Each step answers nullopt to go on, or the walk's answer: a failure report or an error.
class ChainWalk {
 public:
  using Stop = std::optional<Result<VerifyReport>>;

  ChainWalk(audit::RecordSource& source, const VerifyOptions& options)
      : source_(source), options_(options) {}

  Result<VerifyReport> Run() {
    if (Stop s = LoadCheckpoints()) return std::move(*s);
    if (!hasher_.ok()) return Error::Internal("SHA-256 is unavailable in OpenSSL");
    Result<bool> linked = source_.RunLinks();
    if (!linked.ok()) return linked.error();
    linked_ = *linked;
    if (Status s = source_.StartScan(); !s.ok()) return s.error();
    audit::AuditRow st;
    for (;;) {
      Result<bool> more = source_.Next(&st);
      if (!more.ok()) return more.error();
      if (!*more) break;
      if (Stop s = CheckRecord(st)) return std::move(*s);
    }
    if (Stop s = CheckEnd()) return std::move(*s);
    r_.ok = true;
    return std::move(r_);
  }

 private:
  // Every checkpoint's signature, then the checkpoints in seq order.
  Stop LoadCheckpoints() {
    cps_.reserve(options_.checkpoints.size());
    for (const audit::Checkpoint& cp : options_.checkpoints) {
      if (!VerifyCheckpoint(*options_.public_key, cp)) {
        std::string why = CpName(cp) + " has a bad signature";
        const std::string key_id = options_.public_key->KeyId();
        if (!cp.key_id.empty() && cp.key_id != key_id) {
          why += " (it names key " + cp.key_id + "; the public key given is " + key_id + ")";
        } else {
          why += " (forged or altered checkpoint, or a different key)";
        }
        return Fail(std::move(r_), cp.seq, std::move(why));
      }
      cps_.push_back(&cp);
    }
    std::stable_sort(
        cps_.begin(), cps_.end(),
        [](const audit::Checkpoint* a, const audit::Checkpoint* b) { return a->seq < b->seq; });
    if (!cps_.empty()) r_.last_checkpoint_seq = cps_.back()->seq;
    return std::nullopt;
  }

  // The first record: its prev is the genesis hash (seq 1) or a signed anchor.
  Stop StartAt(const audit::AuditRow& st) {
    const int64_t seq = st.seq;
    const std::string seq_s = std::to_string(seq);
    r_.first_seq = seq;
    if (seq < 1) return Fail(std::move(r_), seq, "record " + seq_s + " has an invalid seq");
    expected_ = seq;
    if (seq == 1) {
      prev_hash_ = std::string(kGenesisHash);
      return std::nullopt;
    }
    // Pruned (or head-deleted) log: the first prev must be a signed anchor.
    const audit::Checkpoint* anchor = nullptr;
    for (; next_cp_ < cps_.size() && cps_[next_cp_]->seq < seq; ++next_cp_) {
      if (cps_[next_cp_]->seq == seq - 1) {
        if (anchor != nullptr && anchor->hash != cps_[next_cp_]->hash) {
          return Fail(std::move(r_), seq - 1,
                      "two signed checkpoints for seq " + std::to_string(seq - 1) +
                          " disagree on its hash (lines " + std::to_string(anchor->line) + " and " +
                          std::to_string(cps_[next_cp_]->line) + ")");
        }
        anchor = cps_[next_cp_];
      } else {
        ++r_.checkpoints_pruned;
      }
    }
    if (anchor == nullptr) {
      return Fail(std::move(r_), seq,
                  "the log starts at seq " + seq_s + ": records 1.." + std::to_string(seq - 1) +
                      " were pruned or deleted and no signed checkpoint for seq " +
                      std::to_string(seq - 1) +
                      " anchors it (pass --checkpoints and --pubkey with the anchor "
                      "written by `interlock audit prune`)");
    }
    if (st.prev_hash != anchor->hash) {
      return Fail(std::move(r_), seq,
                  "record " + seq_s + "'s prev hash does not match the anchor " + CpName(*anchor) +
                      ": records before it were altered or the log was replaced");
    }
    r_.anchored = true;
    ++r_.checkpoints_verified;
    prev_hash_ = anchor->hash;
    return std::nullopt;
  }

  // One record: its place in the sequence, its body, its link and hash, its columns, its
  // run link, and the checkpoints of its seq.
  Stop CheckRecord(const audit::AuditRow& st) {
    const int64_t seq = st.seq;
    const std::string_view body = st.body;
    const std::string_view prev_col = st.prev_hash;
    const std::string_view hash_col = st.hash;
    const std::string seq_s = std::to_string(seq);
    if (r_.records == 0) {
      if (Stop s = StartAt(st)) return s;
    }
    if (seq != expected_) {
      return Fail(std::move(r_), expected_,
                  "record" +
                      (seq - 1 == expected_ ? " " + std::to_string(expected_) + " is"
                                            : "s " + std::to_string(expected_) + ".." +
                                                  std::to_string(seq - 1) + " are") +
                      " missing (deleted from the middle of the log)");
    }
    if (!ScanRecordBody(body, &b_, &problem_)) {
      return Fail(std::move(r_), seq, "record " + seq_s + ": " + problem_);
    }
    if (b_.seq_value != seq) {
      return Fail(std::move(r_), seq,
                  "record " + seq_s + ": its hashed body says seq " + std::string(b_.seq) +
                      " (rows renumbered, swapped or moved)");
    }
    if (!JsonStringEquals(b_.prev, prev_col)) {
      return Fail(std::move(r_), seq,
                  "record " + seq_s + ": column prev_hash differs from the prev in its body");
    }
    if (prev_col != prev_hash_) {
      return Fail(std::move(r_), seq,
                  "record " + seq_s + ": prev hash does not match the hash of record " +
                      std::to_string(seq - 1) + " (a record was inserted, replaced or reordered)");
    }
    if (!hasher_.Hash(prev_col, body, computed_)) return Error::Internal("SHA-256 failed");
    if (hash_col != std::string_view(computed_, 64)) {
      return Fail(std::move(r_), seq,
                  "record " + seq_s + ": hash mismatch (its body or hash was modified)");
    }
    if (!ColumnsMatch(st, b_, &problem_)) {
      return Fail(std::move(r_), seq, "record " + seq_s + ": " + problem_);
    }
    if (linked_ && !CheckRunLink(st, seq, r_.first_seq, &run_last_, &problem_)) {
      return Fail(std::move(r_), seq, "record " + seq_s + ": " + problem_);
    }
    if (options_.deep) {
      Result<boost::json::value> v = ParseOwnJson(body);
      if (!v.ok()) {
        return Fail(std::move(r_), seq, "record " + seq_s + ": " + v.error().message);
      }
      if (CanonicalJson(*v) != body) {
        return Fail(std::move(r_), seq, "record " + seq_s + ": body is not canonical JSON");
      }
    }
    for (; next_cp_ < cps_.size() && cps_[next_cp_]->seq <= seq; ++next_cp_) {
      const audit::Checkpoint& cp = *cps_[next_cp_];
      if (cp.seq < seq) continue;  // only reachable for duplicates already handled
      if (cp.hash != hash_col) {
        return Fail(std::move(r_), seq,
                    "record " + seq_s + "'s hash differs from the signed " + CpName(cp) + " of " +
                        cp.time + ": the log up to this record was rewritten after the checkpoint");
      }
      ++r_.checkpoints_verified;
    }
    prev_hash_.assign(hash_col);
    ++r_.records;
    ++expected_;
    return std::nullopt;
  }

  // After the last record: no signed checkpoint past the head, the head row, run heads.
  Stop CheckEnd() {
    r_.head_seq = r_.records == 0 ? 0 : expected_ - 1;
    r_.head_hash = r_.records == 0 ? std::string(kGenesisHash) : prev_hash_;
    if (next_cp_ < cps_.size()) {
      const audit::Checkpoint& cp = *cps_.back();
      if (r_.records == 0) {
        return Fail(std::move(r_), 1,
                    "the log is empty but a signed " + CpName(cp) + " of " + cp.time +
                        " exists: the log was truncated or replaced");
      }
      return Fail(std::move(r_), r_.head_seq + 1,
                  "the log ends at seq " + std::to_string(r_.head_seq) + " but a signed " +
                      CpName(cp) + " of " + cp.time + " exists: records " +
                      std::to_string(r_.head_seq + 1) + ".." + std::to_string(cp.seq) +
                      " were truncated from the tail");
    }
    // After the checkpoints: a truncation they prove is reported as one. The head row
    // (a log from before it has none) catches a deleted tail of any record types.
    Result<bool> has_row = source_.KeepsHeadRow();
    if (!has_row.ok()) return has_row.error();
    if (*has_row) {
      Result<std::optional<AuditHead>> row = source_.HeadRow();
      if (!row.ok()) return row.error();
      const AuditHead last{r_.head_seq, r_.head_hash};
      int64_t bad = 0;
      if (std::string p = HeadRowProblem(last, *row, &bad); !p.empty()) {
        return Fail(std::move(r_), bad, std::move(p));
      }
      r_.head_row_checked = true;
    }
    if (linked_) {
      problem_.clear();
      int64_t bad = 0;
      if (Status s = CheckRunHeads(source_, run_last_, r_.first_seq, &problem_, &bad); !s.ok()) {
        return s.error();
      }
      if (!problem_.empty()) return Fail(std::move(r_), bad, std::move(problem_));
    }
    return std::nullopt;
  }

  audit::RecordSource& source_;
  const VerifyOptions& options_;
  VerifyReport r_;
  std::vector<const audit::Checkpoint*> cps_;  // signatures checked, in seq order
  size_t next_cp_ = 0;                         // the first checkpoint not yet matched to a record
  ChainHasher hasher_;
  bool linked_ = false;  // the log has run links (audit_log.h)
  // Each run's last record so far: every run link must name it (audit_log.h).
  std::unordered_map<std::string, int64_t> run_last_;
  std::string prev_hash_;
  int64_t expected_ = 0;  // the seq the next record must have
  ScannedBody b_;
  std::string problem_;
  char computed_[64];
};

}  // namespace

Result<VerifyReport> VerifyAuditLog(audit::RecordSource& source, const VerifyOptions& options) {
  if (!options.checkpoints.empty() && options.public_key == nullptr) {
    return Error::Invalid(
        "checkpoints were given without the public key needed to check their signatures");
  }
  if (Status s = source.CheckReadable(); !s.ok()) return s.error();
  return ChainWalk(source, options).Run();
}

std::string VerifySummary(const VerifyReport& r) {
  if (!r.ok) return "FAILED at seq " + std::to_string(r.bad_seq) + ": " + r.problem;
  std::string s = "ok: " + std::to_string(r.records) + " records, head " +
                  std::to_string(r.head_seq) + " " + r.head_hash + ", " +
                  std::to_string(r.checkpoints_verified) + " checkpoints verified";
  if (r.anchored) s += " (starts at seq " + std::to_string(r.first_seq) + ", anchored)";
  if (r.checkpoints_pruned > 0) {
    s += ", " + std::to_string(r.checkpoints_pruned) + " older checkpoints cover pruned records";
  }
  if (r.last_checkpoint_seq == 0 && r.records > 0) {
    s += r.head_row_checked
             ? "; no checkpoints given, so a tail cut together with its head rows cannot be "
               "detected"
             : "; no checkpoints given, so truncation of the tail cannot be detected";
  } else if (r.last_checkpoint_seq < r.head_seq) {
    s += "; records after seq " + std::to_string(r.last_checkpoint_seq) +
         " are not yet covered by a checkpoint";
  }
  return s;
}

}  // namespace interlock::audit
