// libFuzzer target for the audit record scanner that `audit verify` and export run on
// every stored body. Checks the scanner's contract: every token it returns lies inside
// the body, an accepted body is a JSON object the strict parser agrees with (same
// members, same seq), and the string helpers agree with each other.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "audit/record_scan.h"
#include "common/json.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

bool Inside(std::string_view body, std::string_view token) {
  return !token.empty() && token.data() >= body.data() &&
         token.data() + token.size() <= body.data() + body.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  audit::ScannedBody s;
  std::string problem;
  if (!audit::ScanRecordBody(body, &s, &problem)) {
    Check(!problem.empty(), "a refusal says why");
    return 0;
  }
  for (std::string_view t :
       {s.agent_id, s.call_id, s.data, s.prev, s.principal, s.run_id, s.seq, s.time, s.type}) {
    Check(Inside(body, t), "tokens lie inside the body");
  }
  Check(s.prev_key_offset < size && body[s.prev_key_offset] == '"', "prev key offset");
  for (std::string_view t :
       {s.agent_id, s.call_id, s.prev, s.principal, s.run_id, s.time, s.type}) {
    if (t.front() != '"') continue;
    std::string decoded;
    if (audit::DecodeJsonString(t, &decoded)) {
      Check(audit::JsonStringEquals(t, decoded), "decode and equals agree");
    }
  }
  // The scanner checks the top-level shape only; where the strict parser also accepts the
  // body, both must agree on the record.
  Result<boost::json::value> v = ParseJsonStrict(body, {1 << 20, 64});
  if (!v.ok()) return 0;
  Check(v->is_object(), "an accepted body is an object");
  const boost::json::object& o = v->get_object();
  Check(o.size() == 9, "an accepted body has the nine members");
  const boost::json::value* seq = o.if_contains("seq");
  Check(seq != nullptr && seq->is_int64() && seq->get_int64() == s.seq_value, "seq agrees");
  return 0;
}
