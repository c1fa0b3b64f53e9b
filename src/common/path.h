// Lexical path normalisation for path-prefix constraints.
//
// No filesystem access: the path an agent names may not exist yet. Rejected outright
// (an error, never a guess): empty paths, NUL bytes, backslashes, percent-encoding,
// and relative paths that climb above their start. '.', '..' and repeated '/' are
// resolved so that "/srv/data/../etc" cannot pass a "/srv/data" prefix.
#ifndef INTERLOCK_COMMON_PATH_H_
#define INTERLOCK_COMMON_PATH_H_

#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock {

Result<std::string> NormalizePath(std::string_view path);

// Ok when `root` may be a workspace root (docs/policy.md, "workspace_roots"; a token's
// --workspace-root): an absolute, normalised path pattern (no '.', '..', '//' or trailing
// '/'; `*` within a segment), at most 1024 bytes, neither `/` nor `/*`. Else kInvalidArgument
// saying why.
Status CheckWorkspaceRoot(std::string_view root);

// True when normalised `path` equals `prefix` or lies below it ("/a/b" under "/a",
// never "/ab" under "/a"). Both must already be normalised.
bool PathHasPrefix(std::string_view path, std::string_view prefix);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_PATH_H_
