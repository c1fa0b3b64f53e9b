#include "common/principal_name.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <cstdio>
#include <cstdlib>

namespace interlock {
namespace {

std::string CodePointName(UChar32 c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

// Characters a reader cannot see or that change how the rest is shown.
bool Invisible(UChar32 c) {
  const int8_t type = u_charType(c);
  return type == U_CONTROL_CHAR || type == U_FORMAT_CHAR || type == U_LINE_SEPARATOR ||
         type == U_PARAGRAPH_SEPARATOR ||
         u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT);
}

const icu::Normalizer2* Instance(bool casefold) {
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* n = casefold ? icu::Normalizer2::getNFKCCasefoldInstance(ec)
                                       : icu::Normalizer2::getNFCInstance(ec);
  // ICU's data is linked in (libicudata): failing here is a broken installation.
  if (U_FAILURE(ec) || n == nullptr) std::abort();
  return n;
}

}  // namespace

Result<std::string> ValidatePrincipalName(std::string_view name, std::string_view what) {
  const std::string label(what);
  if (name.empty()) return Error::Invalid(label + " is empty");
  if (name.size() > kMaxPrincipalNameBytes) {
    return Error::Invalid(label + " is longer than " + std::to_string(kMaxPrincipalNameBytes) +
                          " bytes");
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(name.data());
  const int32_t length = static_cast<int32_t>(name.size());
  int32_t i = 0;
  int position = 0;
  UChar32 last = 0;
  while (i < length) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    ++position;
    if (c < 0) return Error::Invalid(label + " is not valid UTF-8");
    const std::string where = " at character " + std::to_string(position);
    if (Invisible(c)) {
      return Error::Invalid(label + " contains " + CodePointName(c) +
                            " (a control, invisible or format character)" + where +
                            ": names are compared as people, so characters nobody can see "
                            "are refused");
    }
    if (u_isUWhiteSpace(c)) {
      if (c != ' ') {
        return Error::Invalid(label + " contains " + CodePointName(c) +
                              " (whitespace other than a plain space)" + where);
      }
      if (position == 1) return Error::Invalid(label + " starts with a space");
    }
    last = c;
  }
  if (last == ' ') return Error::Invalid(label + " ends with a space");
  UErrorCode ec = U_ZERO_ERROR;
  const icu::UnicodeString nfc = Instance(false)->normalize(icu::UnicodeString::fromUTF8(name), ec);
  if (U_FAILURE(ec)) return Error::Invalid(label + " cannot be normalised");
  std::string out;
  nfc.toUTF8String(out);
  return out;
}

std::string PrincipalKey(std::string_view name) {
  const icu::UnicodeString in = icu::UnicodeString::fromUTF8(name);
  icu::UnicodeString kept;
  for (int32_t i = 0; i < in.length();) {
    const UChar32 c = in.char32At(i);
    i += U16_LENGTH(c);
    if (!Invisible(c)) kept.append(c);
  }
  int32_t start = 0;
  int32_t end = kept.length();
  while (start < end && u_isUWhiteSpace(kept.char32At(start))) {
    start += U16_LENGTH(kept.char32At(start));
  }
  while (end > start && u_isUWhiteSpace(kept.char32At(end - 1))) {
    end -= U16_LENGTH(kept.char32At(end - 1));
  }
  UErrorCode ec = U_ZERO_ERROR;
  const icu::UnicodeString key =
      Instance(true)->normalize(kept.tempSubStringBetween(start, end), ec);
  std::string out;
  if (U_FAILURE(ec)) {
    // Unreachable with valid input; compare the unfolded form rather than nothing.
    kept.tempSubStringBetween(start, end).toUTF8String(out);
    return out;
  }
  key.toUTF8String(out);
  return out;
}

bool SamePrincipal(std::string_view a, std::string_view b) {
  return PrincipalKey(a) == PrincipalKey(b);
}

}  // namespace interlock
