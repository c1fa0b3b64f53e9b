// The one JSON writer family: every JSON text Interlock writes, hashed or read, is made by
// these functions (CanonicalJson and ToJsonText in common/json.h are the same writer over
// a boost::json tree). They append to a caller's buffer, so the hot output paths
// (`interlock decide` prints one line per call, the store writes an audit record per
// decision) build no tree only to print it.
//
// Two styles, one traversal:
// - kCanonical: object keys sorted by bytes, no whitespace, doubles as Boost.JSON prints
//   them ("2E-2"). The audit hash chain and approval bindings hash these bytes: they must
//   never change for a given value (CanonicalTest.CanonicalBytesAreFrozen pins them).
// - kCanonicalByValue: kCanonical with every number by its value: a whole-number double
//   in the integers' range written as that integer (2.0 as 2, -0.0 as 0, 1e19 as
//   10000000000000000000). 2.0 and 2 are one JSON number (JavaScript writes 2.0 as 2), so
//   what binds arguments (an approval, an MCP requestState) hashes these bytes; no two
//   different values share them.
// - kReadable: keys in the order written, doubles in their shortest round-trip decimal
//   ("0.02"), non-finite ones as Boost.JSON prints them. For responses and output lines.
// Strings, integers, booleans and null are written the same in both.
// Thread-safety: free functions and a per-object writer; safe from any thread.
#ifndef INTERLOCK_COMMON_JSON_WRITE_H_
#define INTERLOCK_COMMON_JSON_WRITE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <boost/container/small_vector.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/decision.h"

namespace interlock {

enum class JsonStyle { kCanonical, kCanonicalByValue, kReadable };

// Scalars. Each appends to `out`; the value comes first, the buffer last.
// `s` quoted and escaped exactly as boost::json::serialize escapes it.
void AppendJsonString(std::string_view s, std::string* out);
void AppendJsonInt(int64_t n, std::string* out);
void AppendJsonUint(uint64_t n, std::string* out);
inline void AppendJsonBool(bool b, std::string* out) { out->append(b ? "true" : "false"); }
// The one place the two styles print a number differently: no default style, so that a
// caller always says which bytes it wants.
void AppendJsonDouble(double d, JsonStyle style, std::string* out);
// units / 10^scale (scale 0 to 6) printed exactly as AppendJsonDouble(kReadable) prints
// the double static_cast<double>(units) / 1e<scale>, without the double conversion for
// the usual values (0 <= units < 10^15). For micro-dollars and milliseconds
// (JsonTest.ScaledMatchesDouble).
void AppendJsonScaled(int64_t units, int scale, std::string* out);

// {"key":n,...} for a map of counts, keys escaped as strings, in the map's order: byte
// order for this map type (std::less<> on std::string compares as unsigned bytes), so the
// same text in both styles and canonical (a run's records per tool).
void AppendJsonCounts(const std::map<std::string, uint64_t, std::less<>>& counts, std::string* out);

// A whole value in `style`.
void AppendJson(const boost::json::value& v, JsonStyle style, std::string* out);
void AppendJson(const boost::json::object& o, JsonStyle style, std::string* out);

// Writes one object member by member without building it. kReadable keeps the members
// in the order written; kCanonical reorders them by key bytes when the object ends, so a
// writer of either style lists its members once, in the order people read them. Keys are
// plain ASCII words that need no escaping (names of ours, never data) and must outlive
// End(). A value is appended to the buffer Key() returns (a nested writer included).
class JsonObjectWriter {
 public:
  // Opens an object: writes '{'.
  JsonObjectWriter(JsonStyle style, std::string* out);
  // Continues an object whose '{' (and, when `has_members`, some members) the caller
  // wrote and whose '}' the caller writes: kReadable only, since sorting needs every
  // member; End() writes nothing.
  static JsonObjectWriter Continuing(std::string* out, bool has_members);

  JsonObjectWriter(const JsonObjectWriter&) = delete;
  JsonObjectWriter& operator=(const JsonObjectWriter&) = delete;
  JsonObjectWriter(JsonObjectWriter&&) = default;

  JsonStyle style() const { return style_; }

  // Starts the member `key`; its value goes into the returned buffer.
  std::string* Key(std::string_view key);
  void String(std::string_view key, std::string_view v);
  // A string value that is a plain ASCII word needing no escaping, like the keys (a
  // verdict's or a code's name): written with the key in one append.
  void Word(std::string_view key, std::string_view word);
  void Int(std::string_view key, int64_t v) { AppendJsonInt(v, Key(key)); }
  void Bool(std::string_view key, bool v) { AppendJsonBool(v, Key(key)); }
  void Value(std::string_view key, const boost::json::value& v) { AppendJson(v, style_, Key(key)); }
  void Object(std::string_view key, const boost::json::object& o) {
    AppendJson(o, style_, Key(key));
  }

  // Closes the object: writes '}', after putting the members in key order (kCanonical).
  void End();

 private:
  JsonObjectWriter(JsonStyle style, std::string* out, bool open, bool has_members);
  // What BeginMember writes after the key: nothing (Key), a string (escaped) or a word.
  enum class MemberValue { kNone, kString, kWord };
  // Starts the member `key` and writes `value` as `kind` says.
  std::string* BeginMember(std::string_view key, std::string_view value, MemberValue kind);

  struct Member {
    std::string_view key;
    size_t at;  // offset in *out_ of the member's opening '"'
  };
  JsonStyle style_;
  std::string* out_;
  bool braces_;                                         // this writer writes the closing '}'
  bool first_;                                          // no member written yet
  size_t begin_;                                        // offset of the first member (canonical)
  boost::container::small_vector<Member, 16> members_;  // kCanonical only
};

// The one decision serialiser (every door's JSON form of a Decision comes from the same
// member list, DecisionToJson's object included): the whole object in `style`. The
// canonical form is what the audit log hashes (docs/audit.md); `agent_key` names the
// agent member: "agent" (stored, hashed, MCP, CLI) or "agent_id" (the HTTP API).
void AppendDecisionJson(const Decision& d, JsonStyle style, std::string* out,
                        std::string_view agent_key = "agent");

// DecisionToJson(d) (interlock/decision.h) with the agent under `agent_key`.
boost::json::object DecisionToJson(const Decision& d, std::string_view agent_key);

// The members of AppendDecisionJson(d, kReadable), without the braces, as
// `"decision":"deny","code":...`: for a caller that adds members of its own (`decide`).
void AppendDecisionJsonMembers(const Decision& d, std::string* out);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_JSON_WRITE_H_
