// Principal names: the reviewer, admin and agent names tokens carry, as people.
//
// Rules compare people, not strings (docs/operations.md, "Tokens"): "Alice", "alice",
// "alice\u200b" and "ａｌｉｃｅ" are one person for the two-person rule and the
// self-approval check. So:
//   - ValidatePrincipalName refuses, when a token is created, names a human cannot tell
//     apart from another: control characters (tabs, newlines), invisible and format
//     characters (zero-width, bidi controls, other default-ignorables), line separators,
//     whitespace other than the ASCII space, and leading or trailing whitespace.
//   - PrincipalKey is the comparison form: Unicode NFKC (which includes NFC) case-folded
//     (ICU's NFKC_Casefold), with control and invisible characters dropped and the ends
//     trimmed, so names stored before validation existed still compare as people.
// ICU is confined to principal_name.cc. Thread-safety: all functions are thread-safe.
#ifndef INTERLOCK_COMMON_PRINCIPAL_NAME_H_
#define INTERLOCK_COMMON_PRINCIPAL_NAME_H_

#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock {

// Longest accepted name, in bytes of UTF-8.
inline constexpr size_t kMaxPrincipalNameBytes = 256;

// Checks a name for a new token; `what` names it in the error ("reviewer name"). Returns
// the name in Unicode NFC, or kInvalidArgument saying which character is refused and where.
[[nodiscard]] Result<std::string> ValidatePrincipalName(std::string_view name,
                                                        std::string_view what);

// The form two names are compared in: equal keys are the same person. Never fails
// (ill-formed UTF-8 compares as U+FFFD).
std::string PrincipalKey(std::string_view name);

// PrincipalKey(a) == PrincipalKey(b).
bool SamePrincipal(std::string_view a, std::string_view b);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_PRINCIPAL_NAME_H_
