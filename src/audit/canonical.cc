#include "audit/canonical.h"

#include "common/json_write.h"

namespace interlock::audit {
namespace {

double Usd(int64_t micros) { return static_cast<double>(micros) / 1e6; }

constexpr JsonStyle kCanonical = JsonStyle::kCanonical;

}  // namespace

void AppendCanonicalUsage(std::string* out, const Usage& u) {
  out->append("{\"cost_usd\":");
  AppendJsonDouble(Usd(u.cost_micros), kCanonical, out);
  out->append(",\"tokens\":");
  AppendJsonUint(u.tokens, out);
  out->push_back('}');
}

void AppendCanonicalRecords(std::string* out, const RunState& s) {
  AppendJsonCounts(s.records, out);
}

void AppendCanonicalAuditState(std::string* out, const RunState& s) {
  out->append("{\"cost_usd\":");
  AppendJsonDouble(Usd(s.cost_micros), kCanonical, out);
  out->append(",\"elapsed_s\":");
  AppendJsonDouble(static_cast<double>(s.elapsed_ms) / 1e3, kCanonical, out);
  out->append(",\"halted\":");
  AppendJsonBool(s.halted, out);
  if (!s.labels.empty()) {
    // Sequences (issue 15): only for a run that has any, so that the records of every
    // other run stay as they were.
    out->append(",\"labels\":[");
    bool first = true;
    for (const std::string& l : s.labels) {
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(l, out);
    }
    out->push_back(']');
  }
  out->append(",\"records\":");
  AppendCanonicalRecords(out, s);
  out->append(",\"steps\":");
  AppendJsonUint(s.steps, out);
  out->append(",\"tokens\":");
  AppendJsonUint(s.tokens, out);
  if (!s.workflow_state.empty() || !s.workflow_vars.empty()) {
    out->append(",\"workflow\":{\"state\":");
    AppendJsonString(s.workflow_state, out);
    out->append(",\"vars\":{");
    bool first = true;
    for (const auto& [k, v] : s.workflow_vars) {  // std::map: sorted keys
      if (!first) out->push_back(',');
      first = false;
      AppendJsonString(k, out);
      out->push_back(':');
      AppendJson(v, kCanonical, out);
    }
    out->append("}}");
  }
  out->push_back('}');
}

}  // namespace interlock::audit
