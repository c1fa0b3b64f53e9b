#include "audit/audit_log.h"

#include <algorithm>

#include "common/crypto.h"
#include "common/json_write.h"

namespace interlock::audit {

std::string HeadRowProblem(const AuditHead& last, const std::optional<AuditHead>& row,
                           int64_t* bad_seq) {
  if (bad_seq != nullptr) {
    *bad_seq = !row || row->seq == last.seq ? last.seq : std::min(row->seq, last.seq) + 1;
  }
  const std::string last_s = std::to_string(last.seq);
  if (!row) {
    if (last.seq == 0) return "";
    return "the log ends at seq " + last_s +
           " but its head row (audit_head) is missing: it was deleted, so nothing shows "
           "whether records after seq " +
           last_s + " were deleted too";
  }
  if (row->seq > last.seq) {
    const std::string from = std::to_string(last.seq + 1);
    const std::string to = std::to_string(row->seq);
    return (last.seq == 0 ? std::string("the log is empty") : "the log ends at seq " + last_s) +
           " but its head row names seq " + to + ": record" +
           (from == to ? " " + from + " was" : "s " + from + ".." + to + " were") +
           " deleted from the tail";
  }
  if (row->seq < last.seq) {
    return "the log ends at seq " + last_s + " but its head row names seq " +
           std::to_string(row->seq) + ": the head row was rewound (records after seq " +
           std::to_string(row->seq) + " were written or the row edited behind the writer)";
  }
  if (row->hash != last.hash) {
    return "record " + last_s + "'s hash differs from the hash in the head row: the last record " +
           "was replaced, or the tail deleted and re-written";
  }
  return "";
}

void AppendAuditRecordBody(std::string* out, int64_t seq, const AuditEvent& e,
                           std::string_view prev_hash) {
  // Written key by key in sorted order: byte-identical to CanonicalJson() of the record
  // object (the unit tests pin that), without copying `data` into a temporary.
  out->clear();
  out->append("{\"agent_id\":");
  AppendJsonString(e.agent_id, out);
  out->append(",\"call_id\":");
  AppendJsonString(e.call_id, out);
  out->append(",\"data\":");
  if (!e.data_json.empty()) {
    out->append(e.data_json);
  } else {
    AppendJson(e.data, JsonStyle::kCanonical, out);
  }
  out->append(",\"prev\":");
  AppendJsonString(prev_hash, out);
  out->append(",\"principal\":");
  AppendJsonString(e.principal, out);
  out->append(",\"run_id\":");
  AppendJsonString(e.run_id, out);
  out->append(",\"seq\":");
  AppendJsonInt(seq, out);
  out->append(",\"time\":");
  AppendJsonString(FormatRfc3339(e.time), out);
  out->append(",\"type\":");
  AppendJsonString(e.type, out);
  out->push_back('}');
}

std::string AuditRecordBody(int64_t seq, const AuditEvent& e, std::string_view prev_hash) {
  std::string out;
  out.reserve(256 + e.data_json.size());
  AppendAuditRecordBody(&out, seq, e, prev_hash);
  return out;
}

std::string AuditRecordHash(std::string_view prev_hash, std::string_view body) {
  // SHA-256 over the pieces through OpenSSL's SHA256_* functions (common/crypto.h), not
  // EVP_MD_fetch: the fetch loads OpenSSL's default provider and reads openssl.cnf on a
  // process's first record, ~0.5 ms of CPU that every run of the command hook paid.
  static constexpr std::string_view kZero("\0", 1);
  const Sha256Digest d = Sha256Parts({kAuditHashDomain, kZero, prev_hash, kZero, body});
  return HexEncode(d.data(), d.size());
}

}  // namespace interlock::audit
