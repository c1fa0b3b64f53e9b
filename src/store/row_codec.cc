#include "store/row_codec.h"

#include <algorithm>

#include "audit/canonical.h"
#include "common/crypto.h"
#include "common/decision_json.h"
#include "common/json.h"
#include "common/json_write.h"
#include "common/time.h"

namespace interlock::store::internal {
namespace {

namespace json = boost::json;

uint64_t GetU64(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return static_cast<uint64_t>(std::max<int64_t>(0, v->get_int64()));
  return 0;
}

int64_t GetI64(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

// calls.state_after_json (AppendStateStoreJson).
RunState StateFromStoreJson(const json::object& o) {
  RunState s;
  s.steps = GetU64(o, "steps");
  s.tokens = GetU64(o, "tokens");
  s.cost_micros = GetI64(o, "cost_micros");
  s.elapsed_ms = GetI64(o, "elapsed_ms");
  const json::value* h = o.if_contains("halted");
  s.halted = h != nullptr && h->is_bool() && h->get_bool();
  s.halt_reason = StringMember(o, "halt_reason");
  if (const json::value* r = o.if_contains("records"); r != nullptr && r->is_object()) {
    for (const auto& kv : r->get_object()) {
      s.records[std::string(kv.key())] = GetU64(r->get_object(), kv.key());
    }
  }
  return s;
}

// calls.result_json: {"ok", "output", "error", "usage": {"tokens", "cost_usd"}}.
core::CallResult ResultFromStoreJson(const json::object& o) {
  core::CallResult r;
  const json::value* ok = o.if_contains("ok");
  r.ok = ok == nullptr || !ok->is_bool() || ok->get_bool();
  if (const json::value* v = o.if_contains("output")) r.output_json = CanonicalJson(*v);
  r.error = StringMember(o, "error");
  if (const json::value* u = o.if_contains("usage"); u != nullptr && u->is_object()) {
    r.usage.tokens = GetU64(u->get_object(), "tokens");
    const json::value* c = u->get_object().if_contains("cost_usd");
    if (c != nullptr && c->is_number()) {
      r.usage.cost_micros = static_cast<int64_t>(c->to_number<double>() * 1e6 + 0.5);
    }
  }
  return r;
}

}  // namespace

Result<json::object> ParseColumn(std::string_view text, std::string_view column) {
  Result<json::value> v = ParseOwnJson(text);
  if (!v.ok() || !v->is_object())
    return Error::Corrupt("store: " + std::string(column) + " is bad");
  return std::move(v->get_object());
}

std::string DecisionReason(std::string_view decision_json) {
  Result<json::object> d = ParseColumn(decision_json, "calls.decision_json");
  return d.ok() ? StringMember(*d, "reason") : std::string();
}

core::RunRow ToCoreRunRow(const StoredRunRow& row) {
  core::RunRow out{row.agent_id, FromUnixMillis(row.started_ms), row.state, row.ended, row.version};
  if (!row.parent_run_id.empty()) {
    out.parent_run_id = row.parent_run_id;
    out.role = row.role;
    out.depth = row.depth;
  }
  return out;
}

std::string NewId(std::string_view prefix) {
  // One RAND_bytes per 512 ids instead of one per id (OpenSSL checks getpid() each call).
  constexpr size_t kRefill = 4096;
  constexpr size_t kIdBytes = 8;
  thread_local std::string pool;
  thread_local size_t used = kRefill;
  if (used + kIdBytes > pool.size()) {
    pool = RandomBytes(kRefill);
    used = 0;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(pool.data() + used);
  used += kIdBytes;
  std::string id(prefix);
  id += HexEncode(p, kIdBytes);
  return id;
}

void AppendStateStoreJson(std::string* out, const RunState& s) {
  // kReadable: the members in this order, the bytes the store has always written.
  JsonObjectWriter w(JsonStyle::kReadable, out);
  AppendJsonUint(s.steps, w.Key("steps"));
  AppendJsonUint(s.tokens, w.Key("tokens"));
  w.Int("cost_micros", s.cost_micros);
  w.Int("elapsed_ms", s.elapsed_ms);
  w.Bool("halted", s.halted);
  w.String("halt_reason", s.halt_reason);
  audit::AppendCanonicalRecords(w.Key("records"), s);
  w.End();
}

Result<std::map<std::string, uint64_t, std::less<>>> ParseRecords(std::string_view text) {
  Result<boost::json::value> v = ParseOwnJson(text);
  if (!v.ok() || !v->is_object()) {
    return Error::Corrupt("store: runs.records_json is not an object");
  }
  std::map<std::string, uint64_t, std::less<>> out;
  for (const auto& kv : v->get_object()) {
    if (kv.value().is_uint64()) {
      out[std::string(kv.key())] = kv.value().get_uint64();
    } else if (kv.value().is_int64() && kv.value().get_int64() >= 0) {
      out[std::string(kv.key())] = static_cast<uint64_t>(kv.value().get_int64());
    } else {
      return Error::Corrupt("store: runs.records_json holds a non-count");
    }
  }
  return out;
}

Result<core::StoredCall> DecodeCallRow(const CallRowColumns& row) {
  core::StoredCall out;
  core::CallRecord& rec = out.record;
  rec.call_id = std::string(row.call_id);
  rec.run_id = std::string(row.run_id);
  rec.agent_id = std::string(row.agent_id);
  rec.principal = std::string(row.principal);
  rec.at = FromUnixMillis(row.time_ms);
  rec.call.tool = std::string(row.tool);
  Result<json::object> args = ParseColumn(row.args_json, "calls.args_json");
  if (!args.ok()) return args.error();
  rec.call.args = std::move(args).value();
  rec.call.usage.tokens = static_cast<uint64_t>(row.usage_tokens);
  rec.call.usage.cost_micros = row.usage_cost_micros;
  Result<json::object> d = ParseColumn(row.decision_json, "calls.decision_json");
  if (!d.ok()) return d.error();
  std::optional<Decision> decision = DecisionFromJson(*d);
  if (!decision) return Error::Corrupt("store: calls.decision_json is bad");
  rec.decision = std::move(*decision);
  Result<json::object> st = ParseColumn(row.state_after_json, "calls.state_after_json");
  if (!st.ok()) return st.error();
  rec.state_after = StateFromStoreJson(*st);
  if (row.result_json) {
    Result<json::object> res = ParseColumn(*row.result_json, "calls.result_json");
    if (!res.ok()) return res.error();
    out.result = ResultFromStoreJson(*res);
  }
  rec.policy_sha256 = std::string(row.policy_sha256);
  return out;
}

}  // namespace interlock::store::internal
