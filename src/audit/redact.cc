#include "audit/redact.h"

#include "common/crypto.h"
#include "common/json.h"

namespace interlock::audit {

std::string Redactor::Hash(const boost::json::value& v) const {
  return "hmac-sha256:" + HmacSha256Hex(key_, CanonicalJson(v));
}

boost::json::object Redactor::RedactArgs(const boost::json::object& args,
                                         const std::vector<std::string>& fields) const {
  boost::json::object out = args;
  for (const std::string& f : fields) {
    if (auto it = out.find(f); it != out.end()) it->value() = Hash(it->value());
  }
  return out;
}

std::string Redactor::MaskSecrets(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos)) {
      text.replace(pos, s.size(), "[REDACTED]");
      pos += 10;
    }
  }
  return text;
}

}  // namespace interlock::audit
