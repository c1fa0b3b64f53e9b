#include "engine/call_parser.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/container/small_vector.hpp>
#include <boost/json/serialize.hpp>

namespace interlock::engine {
namespace {

namespace json = boost::json;

// Cost ceiling for one report: anything above is a client bug or an attack, and keeps
// usd * 1e6 far inside int64.
constexpr double kMaxCostUsd = 1e9;

// A finite number as double, or nullopt when `v` is not a number.
std::optional<double> AsDouble(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64:
      return static_cast<double>(v.get_int64());
    case json::kind::uint64:
      return static_cast<double>(v.get_uint64());
    case json::kind::double_:
      return v.get_double();
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<Usage> UsageFromJson(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr)
    return Error::Invalid(std::string("usage must be an object, got ") + JsonKindName(v.kind()));
  Usage usage;
  for (const auto& kv : *o) {
    const std::string_view key = kv.key();
    const json::value& val = kv.value();
    if (key == "tokens") {
      if (const int64_t* i = val.if_int64()) {
        if (*i < 0) return Error::Invalid("usage.tokens must not be negative");
        usage.tokens = static_cast<uint64_t>(*i);
      } else if (const uint64_t* u = val.if_uint64()) {
        usage.tokens = *u;
      } else {
        return Error::Invalid(std::string("usage.tokens must be a non-negative integer, got ") +
                              (val.is_double() ? "a fractional number" : JsonKindName(val.kind())));
      }
    } else if (key == "cost_usd") {
      const std::optional<double> usd = AsDouble(val);
      if (!usd) {
        return Error::Invalid(std::string("usage.cost_usd must be a number, got ") +
                              JsonKindName(val.kind()));
      }
      if (!std::isfinite(*usd)) return Error::Invalid("usage.cost_usd must be finite");
      if (*usd < 0) return Error::Invalid("usage.cost_usd must not be negative");
      if (*usd > kMaxCostUsd) return Error::Invalid("usage.cost_usd exceeds 1e9 USD");
      usage.cost_micros = std::llround(*usd * 1e6);
    } else {
      // Unlike the top level, usage keys are closed: a misspelt "cost" silently read as
      // zero would under-count the run's budget.
      return Error::Invalid("usage has an unknown key " + json::serialize(kv.key()) +
                            " (expected tokens, cost_usd)");
    }
  }
  return usage;
}

namespace {

constexpr size_t kMaxApprovalIdBytes = 128;
constexpr size_t kMaxRefusalRuleBytes = 64;
constexpr size_t kMaxRefusalReasonBytes = 2048;

// {"rule": "mcp.gateway", "reason": "..."}: a front door's refusal (ToolCall::refusal_*).
// It can only turn the call into a deny, so any caller may send it.
Status ParseRefusal(const json::value& v, ToolCall* call) {
  const json::object* o = v.if_object();
  const json::value* rule = o != nullptr ? o->if_contains("rule") : nullptr;
  const json::value* reason = o != nullptr ? o->if_contains("reason") : nullptr;
  if (o == nullptr || o->size() != 2 || rule == nullptr || !rule->is_string() ||
      reason == nullptr || !reason->is_string()) {
    return Error::Invalid("\"refusal\" must be {\"rule\": string, \"reason\": string}");
  }
  const json::string& r = rule->get_string();
  if (r.empty() || r.size() > kMaxRefusalRuleBytes || !std::all_of(r.begin(), r.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      })) {
    return Error::Invalid("\"refusal.rule\" must be 1 to 64 of [A-Za-z0-9._-]");
  }
  const json::string& why = reason->get_string();
  if (why.empty() || why.size() > kMaxRefusalReasonBytes) {
    return Error::Invalid("\"refusal.reason\" must be 1 to 2048 bytes");
  }
  call->refusal_rule.assign(r.data(), r.size());
  call->refusal_reason.assign(why.data(), why.size());
  return Status::Ok();
}

constexpr size_t kMaxDeclaredLabels = 16;
constexpr size_t kMaxLabelBytes = 64;

// ["destructive", ...]: labels the tool declares for itself (ToolCall::declared_labels),
// sent by a front door that learned them (interlock mcp --daemon). They can only make a
// decision stricter, so any caller may send them.
Status ParseDeclaredLabels(const json::value& v, ToolCall* call) {
  const json::array* a = v.if_array();
  if (a == nullptr || a->size() > kMaxDeclaredLabels) {
    return Error::Invalid("\"declared_labels\" must be an array of at most 16 labels");
  }
  for (const json::value& l : *a) {
    const json::string* s = l.if_string();
    if (s == nullptr || s->empty() || s->size() > kMaxLabelBytes ||
        !std::all_of(s->begin(), s->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
        })) {
      return Error::Invalid("\"declared_labels\" items must be 1 to 64 of [A-Za-z0-9._-]");
    }
    call->declared_labels.emplace_back(s->data(), s->size());
  }
  return Status::Ok();
}

// `owned` is `doc` itself when the caller gives up the document, so the arguments can
// be moved out instead of copied (the hot path); nullptr otherwise.
Result<ToolCall> BuildToolCall(const json::value& doc, json::value* owned) {
  const json::object* o = doc.if_object();
  if (o == nullptr) {
    return Error::Invalid(std::string("a tool call must be a JSON object, got ") +
                          JsonKindName(doc.kind()));
  }
  // One pass over the members (keys are unique: the strict parser refuses duplicates)
  // instead of a lookup per known key; the checks below keep their order.
  const json::value* tool = nullptr;
  const json::value* args = nullptr;
  const json::value* usage = nullptr;
  const json::value* elapsed = nullptr;
  const json::value* approval = nullptr;
  const json::value* refusal = nullptr;
  const json::value* declared = nullptr;
  const std::pair<std::string_view, const json::value**> members[] = {
      {"tool", &tool},
      {"args", &args},
      {"usage", &usage},
      {"elapsed_s", &elapsed},
      {"approval_id", &approval},
      {"refusal", &refusal},
      {"declared_labels", &declared}};
  for (const json::key_value_pair& kv : *o) {
    const std::string_view key = kv.key();
    for (const auto& [name, slot] : members) {
      if (key == name) {
        *slot = &kv.value();
        break;
      }
    }
  }
  ToolCall call;
  if (tool == nullptr) return Error::Invalid("the tool call has no \"tool\" name");
  const json::string* name = tool->if_string();
  if (name == nullptr) {
    return Error::Invalid(std::string("\"tool\" must be a string, got ") +
                          JsonKindName(tool->kind()));
  }
  if (name->empty()) return Error::Invalid("\"tool\" must not be empty");
  if (name->size() > kMaxToolNameBytes) {
    return Error::Invalid("\"tool\" is " + std::to_string(name->size()) +
                          " bytes long; the limit is " + std::to_string(kMaxToolNameBytes));
  }
  for (char c : *name) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      return Error::Invalid("\"tool\" contains a control character");
    }
  }
  call.tool.assign(name->data(), name->size());

  if (args != nullptr) {
    const json::object* a = args->if_object();
    if (a == nullptr) {
      return Error::Invalid(std::string("\"args\" must be an object, got ") +
                            JsonKindName(args->kind()));
    }
    if (owned != nullptr) {
      call.args = std::move(owned->get_object().find("args")->value().get_object());
    } else {
      call.args = *a;
    }
  }
  if (usage != nullptr) {
    Result<Usage> u = UsageFromJson(*usage);
    if (!u.ok()) return u.error();
    call.usage = *u;
  }
  if (elapsed != nullptr) {
    const std::optional<double> s = AsDouble(*elapsed);
    if (!s) {
      return Error::Invalid(std::string("\"elapsed_s\" must be a number, got ") +
                            JsonKindName(elapsed->kind()));
    }
    if (!std::isfinite(*s) || *s < 0) {
      return Error::Invalid("\"elapsed_s\" must be a finite number >= 0");
    }
    call.elapsed_s = *s;
  }
  if (approval != nullptr) {
    const json::string* id = approval->if_string();
    if (id == nullptr) {
      return Error::Invalid(std::string("\"approval_id\" must be a string, got ") +
                            JsonKindName(approval->kind()));
    }
    if (id->empty() || id->size() > kMaxApprovalIdBytes ||
        !std::all_of(id->begin(), id->end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
        })) {
      return Error::Invalid("\"approval_id\" is not a valid approval id");
    }
    call.approval_id.assign(id->data(), id->size());
  }
  if (refusal != nullptr) {
    if (Status s = ParseRefusal(*refusal, &call); !s.ok()) return s.error();
  }
  if (declared != nullptr) {
    if (Status s = ParseDeclaredLabels(*declared, &call); !s.ok()) return s.error();
  }
  return call;
}

// A parser for the common shape of a call, {"tool": ..., "args": {...}, "usage": {...},
// "elapsed_s": ...}, that builds the ToolCall straight from the text: no document, no
// handler, no copy of the name. It only ever accepts what the strict path
// (ParseJsonStrict, then BuildToolCall) accepts, into the same call; everything else is
// left to the strict path, which then decides it and words any error, so no
// error text comes from here. Left to the strict path: other top-level members, strings
// with escapes, non-ASCII bytes or control characters, integers of more than 18 digits
// and "-0", numbers from_chars cannot read exactly (overflow, underflow), exponents of more
// than four digits (Boost.JSON refuses one past INT_MAX, even of a zero), nesting deeper
// than 15 or the limit, duplicate keys, any syntax error, and any call BuildToolCall or
// UsageFromJson would refuse. CallParserTest.FastPathMatchesStrictPath compares the two.
class FastCallParser {
 public:
  FastCallParser(std::string_view text, const JsonLimits& limits)
      : p_(text.data()),
        end_(text.data() + text.size()),
        // Nesting the fast path takes: below the strict parser's limit whichever way that
        // limit is counted, and at most 15.
        max_depth_(limits.max_depth < 2 ? 0 : std::min<size_t>(limits.max_depth - 1, 15)),
        too_long_(text.size() > limits.max_bytes) {}

  // True: `call` (a new ToolCall) holds the call; false: left to the strict path (`call`
  // then holds whatever was read).
  bool Parse(ToolCall* out) {
    if (too_long_ || max_depth_ == 0) return false;
    ToolCall& call = *out;
    SkipSpace();
    if (!Take('{')) return false;
    bool tool = false, args = false, usage = false, elapsed = false;
    SkipSpace();
    for (;;) {
      std::string_view key;
      if (!String(&key) || !Colon()) return false;
      if (key == "tool" && !tool) {
        std::string_view name;
        if (!String(&name) || name.empty() || name.size() > kMaxToolNameBytes) {
          return false;
        }
        call.tool.assign(name.data(), name.size());
        tool = true;
      } else if (key == "args" && !args) {
        if (p_ == end_ || *p_ != '{' || !Object(&call.args, 2)) return false;
        args = true;
      } else if (key == "usage" && !usage) {
        json::value v;
        if (!Value(&v, 2)) return false;
        Result<Usage> u = UsageFromJson(v);
        if (!u.ok()) return false;
        call.usage = *u;
        usage = true;
      } else if (key == "elapsed_s" && !elapsed) {
        json::value v;
        if (!Value(&v, 2)) return false;
        const std::optional<double> s = AsDouble(v);
        if (!s || !std::isfinite(*s) || *s < 0) return false;
        call.elapsed_s = *s;
        elapsed = true;
      } else {
        return false;  // another member, or one repeated
      }
      if (NextItem()) continue;
      if (!Take('}')) return false;
      break;
    }
    SkipSpace();
    return p_ == end_ && tool;
  }

 private:
  void SkipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  // After a member or element: skips a ',' and the white space around it (true: another
  // follows), or only the white space before what ends the object or array (false).
  bool NextItem() {
    SkipSpace();
    if (!Take(',')) return false;
    SkipSpace();
    return true;
  }
  bool Take(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool Colon() {
    SkipSpace();
    if (!Take(':')) return false;
    SkipSpace();
    return true;
  }

  // A string of printable ASCII without escapes (0x20 to 0x7e but '"' and '\\'); `p_` on
  // its opening quote.
  bool String(std::string_view* out) {
    if (!Take('"')) return false;
    const char* const begin = p_;
#if defined(__SSE2__)
    // Sixteen bytes at a time while all are plain: the scan below stops at the first other.
    while (end_ - p_ >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
      const __m128i special =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                       _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v),
                                    _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));
      // The sign bit: bytes from 0x80 up.
      const auto hit = static_cast<unsigned>(_mm_movemask_epi8(special) | _mm_movemask_epi8(v));
      if (hit != 0) {
        p_ += std::countr_zero(hit);
        break;
      }
      p_ += 16;
    }
#endif
    while (p_ != end_) {
      const auto b = static_cast<unsigned char>(*p_);
      if (b == '"') {
        *out = std::string_view(begin, static_cast<size_t>(p_ - begin));
        ++p_;
        return true;
      }
      if (b < 0x20 || b > 0x7e || b == '\\') return false;
      ++p_;
    }
    return false;
  }

  // A JSON number: an integer of at most 18 digits (int64, as Boost.JSON makes it), or a
  // fraction or exponent read by from_chars from the exact text, as the strict parser's
  // handler re-reads Boost.JSON's doubles.
  bool Number(json::value* out) {
    const char* const begin = p_;
    const bool negative = Take('-');
    const char* const digits = p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    const size_t int_digits = static_cast<size_t>(p_ - digits);
    bool integer = true;
    auto some_digits = [this] {
      const char* const from = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      return p_ != from;
    };
    if (Take('.')) {
      integer = false;
      if (!some_digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      integer = false;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* const exponent = p_;
      if (!some_digits()) return false;
      // A longer exponent is left to Boost.JSON, which refuses one past INT_MAX
      // (exponent_overflow) even of a zero, where from_chars reads "-0E7199254740993" as
      // -0.0. Four digits cannot overflow with the mantissa's bias (one per digit of the
      // mantissa: an input over 2 GiB would be needed).
      if (p_ - exponent > 4) return false;
    }
    if (integer) {
      if (int_digits > 18) return false;
      int64_t n = 0;
      for (const char* d = digits; d != p_; ++d) n = n * 10 + (*d - '0');
      if (negative && n == 0) return false;  // "-0": left to Boost.JSON
      *out = negative ? -n : n;
      return true;
    }
    double d = 0;
    const auto r = std::from_chars(begin, p_, d);
    if (r.ec != std::errc() || r.ptr != p_ || !std::isfinite(d)) return false;
    *out = d;
    return true;
  }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // A value at nesting `depth` (a container here is the depth-th one open).
  bool Value(json::value* out, size_t depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return Object(&out->emplace_object(), depth);
      case '[':
        return Array(&out->emplace_array(), depth);
      case '"': {
        std::string_view s;
        if (!String(&s)) return false;
        out->emplace_string().assign(s.data(), s.size());
        return true;
      }
      case 't':
        if (!Literal("true")) return false;
        *out = true;
        return true;
      case 'f':
        if (!Literal("false")) return false;
        *out = false;
        return true;
      case 'n':
        if (!Literal("null")) return false;
        out->emplace_null();
        return true;
      default:
        return Number(out);
    }
  }

  // `p_` on the '{'. A repeated key is left to the strict path (which refuses it).
  bool Object(json::object* out, size_t depth) {
    if (depth > max_depth_) return false;
    ++p_;
    SkipSpace();
    if (Take('}')) return true;
    // The members are gathered first so that the object is allocated once, at its size.
    boost::container::small_vector<std::pair<std::string_view, json::value>, 8> members;
    for (;;) {
      std::string_view key;
      if (!String(&key) || !Colon()) return false;
      if (!Value(&members.emplace_back(key, nullptr).second, depth + 1)) return false;
      if (NextItem()) continue;
      if (!Take('}')) return false;
      break;
    }
    out->reserve(members.size());
    for (auto& [key, value] : members) {
      if (!out->emplace(key, std::move(value)).second) return false;
    }
    return true;
  }

  bool Array(json::array* out, size_t depth) {
    if (depth > max_depth_) return false;
    ++p_;
    SkipSpace();
    if (Take(']')) return true;
    for (;;) {
      if (!Value(&out->emplace_back(nullptr), depth + 1)) return false;
      if (NextItem()) continue;
      return Take(']');
    }
  }

  const char* p_;
  const char* const end_;
  const size_t max_depth_;
  const bool too_long_;
};

}  // namespace

Result<ToolCall> ToolCallFromJson(const json::value& doc) { return BuildToolCall(doc, nullptr); }

bool ParseCommonToolCall(std::string_view text, const JsonLimits& limits, ToolCall* call) {
  return FastCallParser(text, limits).Parse(call);
}

Status ParseToolCallInto(std::string_view text, const JsonLimits& limits, ToolCall* call) {
  // The common shape first (FastCallParser); anything else, or anything wrong, goes through
  // the strict parser and BuildToolCall, which decide it and word its error.
  if (FastCallParser(text, limits).Parse(call)) return Status::Ok();
  *call = ToolCall{};  // what the fast parser may have filled before it gave up
  Result<json::value> doc = ParseJsonStrict(text, limits);
  if (!doc.ok()) return doc.error();
  Result<ToolCall> built = BuildToolCall(*doc, &*doc);
  if (!built.ok()) return built.error();
  *call = std::move(built).value();
  return Status::Ok();
}

Result<ToolCall> ParseToolCall(std::string_view text, const JsonLimits& limits) {
  ToolCall call;
  if (Status s = ParseToolCallInto(text, limits, &call); !s.ok()) return s.error();
  return call;
}

}  // namespace interlock::engine
