// libFuzzer target for the masking of tool results (audit/redact.h): a result echoing a
// redacted argument value, plainly, percent-encoded, base64 or base64url, or inside an MCP
// embedded resource's `blob` (an image's or audio's `data`), must be stored without it.
// The first byte picks the value's length (4 to 35 characters, lower-case letters and
// digits, so "[REDACTED]" can never make a new occurrence); its characters come next; the
// rest is the result's JSON (or, when it does not parse, one string holding those bytes).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "audit/redact.h"
#include "common/base64.h"

namespace {

namespace json = boost::json;
using interlock::audit::Redactor;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One step of percent-decoding, `+` as a space (what MaskSecrets promises to see through).
std::string PercentDecoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

void CheckText(std::string_view s, const std::string& secret) {
  Check(s.find(secret) == std::string_view::npos, "no string holds the value");
  Check(PercentDecoded(s).find(secret) == std::string::npos,
        "no string holds the value once percent-decoded");
}

bool IsMediaType(const json::object& o) {
  const json::value* t = o.if_contains("type");
  return t != nullptr && t->is_string() &&
         (t->get_string() == "image" || t->get_string() == "audio");
}

void CheckEncoded(const json::value& v, const std::string& secret) {
  if (!v.is_string()) return;
  const std::string_view s = v.get_string();
  if (s.rfind("[WITHHELD", 0) == 0) return;
  auto bytes = interlock::Base64DecodeLenient(s);
  Check(bytes.ok(), "encoded content left in place decodes");
  Check(bytes->find(secret) == std::string::npos, "decoded content does not hold the value");
}

void Walk(const json::value& v, const std::string& secret, int depth) {
  if (depth > 200) return;
  if (v.is_string()) return CheckText(v.get_string(), secret);
  if (v.is_array()) {
    for (const json::value& e : v.get_array()) Walk(e, secret, depth + 1);
    return;
  }
  if (!v.is_object()) return;
  const json::object& o = v.get_object();
  for (const auto& kv : o) {
    CheckText(kv.key(), secret);
    if (kv.key() == "blob" || (kv.key() == "data" && IsMediaType(o))) {
      CheckEncoded(kv.value(), secret);
    }
    Walk(kv.value(), secret, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t n = 4 + data[0] % 32;
  if (size < 1 + n) return 0;
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string secret;
  for (size_t i = 0; i < n; ++i) secret.push_back(kAlphabet[data[1 + i] % 36]);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1 + n, size - 1 - n);
  boost::system::error_code ec;
  json::value result = json::parse(rest, ec);
  if (ec) result = json::string(rest);
  const std::vector<std::string> forms = Redactor::EchoForms(json::object{{"v", secret}});
  Redactor::MaskEncodedContent(&result, forms);
  Redactor::MaskSecretsInJson(&result, forms);
  Walk(result, secret, 0);
  return 0;
}
