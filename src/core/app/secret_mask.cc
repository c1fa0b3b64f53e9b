#include "core/app/secret_mask.h"

#include <utility>

#include "audit/redact.h"

namespace interlock::core {

std::string SecretMask::Mask(std::string text) const {
  return audit::Redactor::MaskSecrets(std::move(text), secrets_);
}

bool SecretMask::MaskJson(boost::json::value* v) const {
  return audit::Redactor::MaskSecretsInJson(v, secrets_);
}

}  // namespace interlock::core
