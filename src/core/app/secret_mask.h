// SecretMask: values a door must never pass on or record (an MCP upstream's credentials:
// its `secrets`, the credentials issued during its session), masked "[REDACTED]" wherever
// they occur in a text or a JSON document, the way the audit log masks them
// (audit/redact.h: the longest secret first, the percent-decoded forms too, object keys
// included, keys that become equal kept apart). A door holds one per list of secrets and
// masks everything from the other side with it before anything reads it.
// Thread-safety: immutable after construction; any thread.
#ifndef INTERLOCK_CORE_APP_SECRET_MASK_H_
#define INTERLOCK_CORE_APP_SECRET_MASK_H_

#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace interlock::core {

class SecretMask {
 public:
  SecretMask() = default;  // masks nothing
  explicit SecretMask(std::vector<std::string> secrets) : secrets_(std::move(secrets)) {}

  // `text` with every occurrence of each secret masked.
  std::string Mask(std::string text) const;
  // Every string in `v` masked, values and object keys, at any depth; true when anything
  // changed. A no-op without secrets.
  bool MaskJson(boost::json::value* v) const;

 private:
  std::vector<std::string> secrets_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_SECRET_MASK_H_
