#include "engine/call_parser.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

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
  for (const json::key_value_pair& kv : *o) {
    const std::string_view key = kv.key();
    if (key == "tool") {
      tool = &kv.value();
    } else if (key == "args") {
      args = &kv.value();
    } else if (key == "usage") {
      usage = &kv.value();
    } else if (key == "elapsed_s") {
      elapsed = &kv.value();
    } else if (key == "approval_id") {
      approval = &kv.value();
    } else if (key == "refusal") {
      refusal = &kv.value();
    } else if (key == "declared_labels") {
      declared = &kv.value();
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

}  // namespace

Result<ToolCall> ToolCallFromJson(const json::value& doc) { return BuildToolCall(doc, nullptr); }

Result<ToolCall> ParseToolCall(std::string_view text, const JsonLimits& limits) {
  Result<json::value> doc = ParseJsonStrict(text, limits);
  if (!doc.ok()) return doc.error();
  return BuildToolCall(*doc, &*doc);
}

}  // namespace interlock::engine
