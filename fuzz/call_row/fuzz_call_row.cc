// libFuzzer target for DecodeCallRow (store/row_codec.h). The input is a call row's JSON
// columns, one per line: args_json, decision_json, state_after_json and, when present,
// result_json. Invariants, each an abort when broken:
//  - a row reads as a decision only when its decision column is an object DecisionFromJson
//    reads, and as an allow only when that column's "decision" is exactly "allow";
//  - a row that reads back is a fixed point of the store's writers: its arguments, its
//    decision and its state, written as the store writes them and read again, are the same
//    (what a reader is given is what a backend would store);
//  - a row that does not read back is kCorrupt and names one of the columns.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "common/decision_json.h"
#include "common/json.h"
#include "common/json_write.h"
#include "store/row_codec.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (out.size() < 4) {
    const size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock;
  using store::internal::CallRowColumns;
  using store::internal::DecodeCallRow;
  if (size > (1 << 16)) return 0;
  const std::vector<std::string_view> cols =
      Lines(std::string_view(reinterpret_cast<const char*>(data), size));
  if (cols.size() < 3) return 0;
  CallRowColumns row;
  row.call_id = "call_1";
  row.run_id = "run_1";
  row.agent_id = row.principal = "a";
  row.tool = "deploy";
  row.args_json = cols[0];
  row.decision_json = cols[1];
  row.state_after_json = cols[2];
  if (cols.size() > 3) row.result_json = cols[3];

  Result<core::StoredCall> got = DecodeCallRow(row);
  Result<boost::json::value> decision = ParseOwnJson(cols[1]);
  if (!got.ok()) {
    Check(got.error().kind == ErrorKind::kCorrupt, "an unreadable row is kCorrupt");
    Check(got.error().message.find("calls.") != std::string::npos, "the error names a column");
    return 0;
  }
  Check(decision.ok() && decision->is_object(), "a decision is read from an object");
  const boost::json::value* verdict = decision->get_object().if_contains("decision");
  Check(got->record.decision.allowed() ==
            (verdict != nullptr && verdict->is_string() && verdict->get_string() == "allow"),
        "a row is an allow only when its decision says \"allow\"");

  // Written again as the stores write a call row, and read back: the same call.
  const core::CallRecord& rec = got->record;
  std::string args = CanonicalJson(boost::json::value(rec.call.args));
  std::string state;
  store::internal::AppendStateStoreJson(&state, rec.state_after);
  std::string written;
  AppendDecisionJson(rec.decision, JsonStyle::kCanonical, &written);
  CallRowColumns again = row;
  again.args_json = args;
  again.decision_json = written;
  again.state_after_json = state;
  again.result_json.reset();
  Result<core::StoredCall> back = DecodeCallRow(again);
  Check(back.ok(), "a row the store writes reads back");
  Check(back->record.call.args == rec.call.args, "the arguments are a fixed point");
  Check(DecisionToJson(back->record.decision) == DecisionToJson(rec.decision),
        "the decision is a fixed point");
  std::string state_again;
  store::internal::AppendStateStoreJson(&state_again, back->record.state_after);
  Check(state_again == state, "the state is a fixed point");
  return 0;
}
