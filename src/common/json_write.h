// Writers that build JSON output text directly into a string, for hot output paths
// (`interlock decide` prints one line per call) where building a boost::json value only
// to print it costs more than the decision.
// Thread-safety: free functions; safe from any thread.
#ifndef INTERLOCK_COMMON_JSON_WRITE_H_
#define INTERLOCK_COMMON_JSON_WRITE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "interlock/decision.h"

namespace interlock {

// Byte-identical to what ToJsonText prints for the same value (and CanonicalJson for
// strings and integers): a quoted, escaped string; a double in its readable form
// (non-finite ones as Boost.JSON prints them); an integer. Each appends to `out`.
void AppendJsonString(std::string_view s, std::string* out);
void AppendJsonDouble(double d, std::string* out);
// units / 10^scale (scale 0 to 6) printed exactly as AppendJsonDouble prints the double
// static_cast<double>(units) / 1e<scale>, without the double conversion for the usual
// values (0 <= units < 10^15); others go through AppendJsonDouble. For micro-dollars
// and milliseconds (JsonTest.ScaledMatchesDouble).
void AppendJsonScaled(int64_t units, int scale, std::string* out);
void AppendJsonInt(int64_t n, std::string* out);
void AppendJsonUint(uint64_t n, std::string* out);

// The members of DecisionToJson(d), without the braces, appended to `out` exactly as
// ToJsonText prints them (`"decision":"deny","code":...`), with no JSON object built.
// Byte-identical to ToJsonText(DecisionToJson(d)) between its braces (tested on a
// varied corpus: DecisionTest.AppendedMembersMatchDecisionToJson).
void AppendDecisionJsonMembers(const Decision& d, std::string* out);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_JSON_WRITE_H_
