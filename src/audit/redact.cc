#include "audit/redact.h"

#include <algorithm>

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
  // Longest first: a secret holding another (one upstream's token a prefix of another's)
  // is masked whole, not cut into "[REDACTED]" and a visible rest.
  std::vector<const std::string*> order;
  order.reserve(secrets.size());
  for (const std::string& s : secrets) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const std::string* a, const std::string* b) {
    return a->size() > b->size();
  });
  for (const std::string* sp : order) {
    const std::string& s = *sp;
    if (s.empty()) continue;
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos)) {
      text.replace(pos, s.size(), "[REDACTED]");
      pos += 10;
    }
  }
  return text;
}

bool Redactor::MaskSecretsInJson(boost::json::value* v, const std::vector<std::string>& secrets) {
  if (secrets.empty()) return false;
  if (boost::json::string* str = v->if_string()) {
    std::string masked = MaskSecrets(std::string(*str), secrets);
    if (masked == *str) return false;
    *str = masked;
    return true;
  }
  bool changed = false;
  if (boost::json::array* a = v->if_array()) {
    for (boost::json::value& e : *a) changed |= MaskSecretsInJson(&e, secrets);
    return changed;
  }
  boost::json::object* o = v->if_object();
  if (o == nullptr) return false;
  bool key_changed = false;
  for (auto& kv : *o) {
    changed |= MaskSecretsInJson(&kv.value(), secrets);
    key_changed = key_changed || MaskSecrets(std::string(kv.key()), secrets) != kv.key();
  }
  if (!key_changed) return changed;
  boost::json::object out;
  out.reserve(o->size());
  for (auto& kv : *o) {
    std::string key = MaskSecrets(std::string(kv.key()), secrets);
    if (out.contains(key)) {
      int n = 2;
      while (out.contains(key + "#" + std::to_string(n))) ++n;
      key += "#" + std::to_string(n);
    }
    out.emplace(key, std::move(kv.value()));
  }
  *o = std::move(out);
  return true;
}

}  // namespace interlock::audit
