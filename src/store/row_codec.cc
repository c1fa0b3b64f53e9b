#include "store/row_codec.h"

#include <boost/json/parse.hpp>

#include "audit/canonical.h"
#include "common/crypto.h"
#include "common/json_write.h"

namespace interlock::store::internal {

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
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return Error::Corrupt("store: runs.records_json is not an object");
  std::map<std::string, uint64_t, std::less<>> out;
  for (const auto& kv : v.get_object()) {
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

}  // namespace interlock::store::internal
