// base64url without padding (RFC 4648 section 5; the JWS encoding of RFC 7515 section 2),
// and the standard alphabet (section 4) as peers write it (MCP's `blob` and `data`).
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

// Standard base64 (RFC 4648 section 4: `+`, `/`), with `=` padding when `pad`.
std::string Base64Encode(std::string_view bytes, bool pad = true);

// What a peer may call base64: the standard or the URL alphabet (not both in one text),
// padded or not (padding only at the end, at most two `=`), unused trailing bits ignored.
// No whitespace. Anything else is kInvalidArgument.
Result<std::string> Base64DecodeLenient(std::string_view in);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_BASE64_H_
