// libFuzzer target for DecisionFromJson (common/decision_json.h), the inverse of
// DecisionToJson. Invariants, each an abort when broken:
//  - a decision is read only when "decision" and "code" name a verdict and a code, and it
//    is an allow only when "decision" is exactly "allow";
//  - once read, its JSON is a fixed point: DecisionToJson(DecisionFromJson(j)) == j for
//    j = DecisionToJson(d) (what a door answers is what the next reader gets);
//  - the decision's two writers agree: AppendDecisionJson, in both styles, writes text that
//    ParseOwnJson reads as DecisionToJson's object (the audit record and the HTTP answer are
//    one shape, and a number reads back as the same double).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "common/decision_json.h"
#include "common/json.h"
#include "common/json_write.h"
#include "interlock/decision.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::string_view Member(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock;
  if (size > (1 << 16)) return 0;
  // As a door reads a body (Boost's own parse is up to one ulp off on a long number, which
  // then reads back otherwise from the shortest digits any writer prints).
  Result<boost::json::value> v =
      ParseJsonStrict(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!v.ok() || !v->is_object()) return 0;
  const boost::json::object& o = v->get_object();
  std::optional<Decision> d = DecisionFromJson(o);
  if (!d) {
    Check(!ParseVerdict(Member(o, "decision")) || !ParseCode(Member(o, "code")),
          "a known verdict and code are read");
    return 0;
  }
  Check(ParseVerdict(Member(o, "decision")) == d->verdict, "the verdict is the one written");
  Check(d->allowed() == (Member(o, "decision") == "allow"), "only \"allow\" reads as an allow");

  const boost::json::object first = DecisionToJson(*d);
  std::optional<Decision> again = DecisionFromJson(first);
  Check(again.has_value(), "a written decision reads back");
  Check(DecisionToJson(*again) == first, "a written decision is a fixed point");

  for (JsonStyle style : {JsonStyle::kCanonical, JsonStyle::kReadable}) {
    std::string text;
    AppendDecisionJson(*d, style, &text);
    // As the store and the audit readers read it back.
    Result<boost::json::value> parsed = ParseOwnJson(text);
    Check(parsed.ok(), "AppendDecisionJson writes JSON");
    Check(*parsed == boost::json::value(first),
          "AppendDecisionJson writes DecisionToJson's object");
  }
  return 0;
}
