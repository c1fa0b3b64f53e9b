// A Claude Code session's workspace (docs/policy.md, "Variables" and "workspace_roots";
// docs/mcp.md, "Claude Code"): the directory `${workspace}` in its policy stands for, fixed
// when the session's run starts, and the bounds an organisation sets on it.
//
// The session's cwd is asserted by the developer's machine (the hook input): it is trusted
// only within the roots the policy (`workspace_roots`) and the caller's token (its bound
// roots) name; the token narrows (a project must lie within both). Neither naming any: the
// session has no workspace of its own and `${workspace}` stays the daemon's.
// Thread-safety: pure functions (ResolveSessionWorkspace calls `is_repository`).
#ifndef INTERLOCK_CORE_WORKSPACE_H_
#define INTERLOCK_CORE_WORKSPACE_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

#include "core/ports/run_store.h"
#include "core/roles.h"
#include "interlock/result.h"

namespace interlock::core {

// Whether `dir` (absolute, normalised) is `/` or a home directory, never a workspace:
// /root, /home, /home/NAME, /Users and /Users/NAME.
bool IsHomeOrRoot(std::string_view dir);

// Whether `dir` (absolute, normalised) is one of `roots` or below one: its first segments
// match the root's segments one for one, a `*` matching within one segment (never a `/`).
bool WithinWorkspaceRoots(std::string_view dir, const std::vector<std::string>& roots);

// What a session asserts and what bounds it, at its first event.
struct SessionOrigin {
  std::string cwd;                       // the hook input's cwd
  std::vector<std::string> token_roots;  // the roots bound to the caller's token; empty: none
};

// Whether `dir` holds a `.git` (a directory, or a file: a worktree) on this machine.
bool HasGitEntry(const std::string& dir);

// The session's workspace: its cwd, or the nearest directory above it that holds a
// repository (`is_repository`) and still qualifies, where a directory qualifies when it is
// not `/` or a home directory and lies within the policy's roots (when it names any) and
// the token's (when it names any). Refused (RunWorkspace::refused says why; workspace the
// cwd as sent, cut to 1024 bytes): a cwd that is empty, relative or not normalised, or that
// does not qualify. Empty (no workspace of the session's own): no roots named at all.
RunWorkspace ResolveSessionWorkspace(const SessionOrigin& origin,
                                     const std::vector<std::string>& policy_roots,
                                     const std::function<bool(const std::string&)>& is_repository);

// The roots bound to a token as a store keeps them (tokens.workspace_roots): a JSON array
// of strings, "[]" for none. The parser fails (kCorrupt) on anything else.
std::string WorkspaceRootsJson(const std::vector<std::string>& roots);
boost::json::array WorkspaceRootsArray(const std::vector<std::string>& roots);
Result<std::vector<std::string>> ParseWorkspaceRootsJson(std::string_view text);

// Ok when `roots` may be bound to a token of `role`: none, or (agent tokens only) each a
// valid root (CheckWorkspaceRoot), at most 64.
Status CheckTokenWorkspaceRoots(Role role, const std::vector<std::string>& roots);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_WORKSPACE_H_
