// base64url without padding (RFC 4648 section 5; the JWS encoding of RFC 7515 section 2).
#ifndef INTERLOCK_COMMON_BASE64_H_
#define INTERLOCK_COMMON_BASE64_H_

#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock {

std::string Base64UrlEncode(std::string_view bytes);

// Strict: only [A-Za-z0-9_-], a length that is not 1 mod 4, and zero unused trailing
// bits, so every value has exactly one encoding; anything else is kInvalidArgument.
Result<std::string> Base64UrlDecode(std::string_view in);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_BASE64_H_
