// Strict JSON parsing for everything that arrives from outside.
//
// Stricter than RFC 8259 allows a parser to be, because an enforcement point must see
// exactly what the executor will see: duplicate object keys are an error (two parsers
// keeping different copies is a bypass), as are invalid UTF-8, nesting deeper than
// max_depth, documents larger than max_bytes, and trailing content. Numbers that do not
// fit a double (1e400) are errors, never infinities.
// Thread-safety: free functions; safe from any thread.
#ifndef INTERLOCK_COMMON_JSON_H_
#define INTERLOCK_COMMON_JSON_H_

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock {

struct JsonLimits {
  size_t max_bytes = 1 << 20;  // 1 MiB
  size_t max_depth = 64;
};

// JSON from outside (a request, a policy value, an upstream's answer): duplicate keys,
// non-finite numbers, invalid UTF-8, comments and trailing commas are errors; numbers are
// rounded correctly (Boost 1.81's own parser can be one ulp off).
Result<boost::json::value> ParseJsonStrict(std::string_view text, const JsonLimits& limits = {},
                                           boost::json::storage_ptr sp = {});

// JSON Interlock wrote itself (a store column, an audit field, a sealed value, its own
// answer), read back exactly as it was written: the same correct rounding, so a number is
// the same after any number of trips through the store, and any depth a door accepts
// (Boost's own parse stops at 32 levels, and a call's arguments may hold 64). Use this,
// never boost::json::parse, to read what Interlock stored.
Result<boost::json::value> ParseOwnJson(std::string_view text, boost::json::storage_ptr sp = {});

// Canonical serialisation: object keys sorted by bytes, no whitespace, numbers as
// Boost.JSON prints them. Used for argument hashes (approvals bind to it) and the
// audit chain, so it must never change for a given value. This and ToJsonText are the
// writer family of common/json_write.h (AppendJson) over a whole tree.
std::string CanonicalJson(const boost::json::value& v);

// Compact JSON for people and clients: key order as built, doubles in their shortest
// round-trip form ("0.02"). Use for every response and output line.
std::string ToJsonText(const boost::json::value& v);

// "null", "a boolean", "a number", "a string", "an array", "an object": for messages
// such as `argument "n" must be a number, got a string`.
const char* JsonKindName(boost::json::kind k);

// The string member `key` of `o`, or "" when it is absent or not a string.
std::string StringMember(const boost::json::object& o, std::string_view key);

// "the daemon answered HTTP 403 (PERMISSION_DENIED: ...)": an error reply of the daemon's
// API (body {"code", "reason"}), for the messages of its clients.
std::string DescribeDaemonReply(int status, std::string_view body);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_JSON_H_
