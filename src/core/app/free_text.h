// A person's text that an action stores with its record: a kill switch's reason (and its
// target), a vote's comment, a withdrawal's or a revocation's reason. The core checks it
// at each use case that stores one (Kills::Set, Approvals::Vote, AnswerAsLocalUser,
// Withdraw, RevokeRunGrant), so no door can hand a store what it cannot keep: PostgreSQL's
// text holds neither a NUL nor ill-formed UTF-8 (its write would fail, the kill switch not
// engaged), and a text without a bound would fill the audit log.
// Thread-safety: pure functions.
#ifndef INTERLOCK_CORE_APP_FREE_TEXT_H_
#define INTERLOCK_CORE_APP_FREE_TEXT_H_

#include <cstddef>
#include <string_view>

#include "interlock/result.h"

namespace interlock::core {

// The bound the core keeps for any such text. The doors take less from a person (the HTTP
// API and an MCP client's comment 1024 bytes) and may add who answered and where.
inline constexpr size_t kMaxFreeTextBytes = 4096;

// Ok, or InvalidArgument naming `field`: over `max_bytes`, a NUL character, or not UTF-8.
Status CheckFreeText(std::string_view text, std::string_view field,
                     size_t max_bytes = kMaxFreeTextBytes);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_FREE_TEXT_H_
