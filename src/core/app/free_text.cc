#include "core/app/free_text.h"

#include <unicode/utf8.h>

#include <string>

namespace interlock::core {

Status CheckFreeText(std::string_view text, std::string_view field, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Error::Invalid(std::string(field) + " must be at most " + std::to_string(max_bytes) +
                          " bytes");
  }
  if (text.find('\0') != std::string_view::npos) {
    return Error::Invalid(std::string(field) + " must not contain a NUL character (\\u0000)");
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const auto length = static_cast<int32_t>(text.size());  // at most max_bytes
  for (int32_t i = 0; i < length;) {
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return Error::Invalid(std::string(field) + " must be UTF-8");
  }
  return Status::Ok();
}

}  // namespace interlock::core
