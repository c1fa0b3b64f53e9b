#include "core/workspace.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <boost/json.hpp>

#include "common/glob.h"
#include "common/json.h"
#include "common/path.h"
#include "common/status_macros.h"

namespace interlock::core {

namespace {

// The segments of an absolute path ("/a/b" -> "a", "b"; "/" -> none).
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const size_t end = std::min(path.find('/', i), path.size());
    out.push_back(path.substr(i, end - i));
    i = end;
  }
  return out;
}

std::string JoinRoots(const std::vector<std::string>& roots) {
  std::string out;
  for (const std::string& r : roots) out += (out.empty() ? "" : ", ") + r;
  return out;
}

std::string Parent(const std::string& dir) {
  const size_t slash = dir.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : dir.substr(0, slash);
}

}  // namespace

bool IsHomeOrRoot(std::string_view dir) {
  const std::vector<std::string_view> s = Segments(dir);
  if (s.empty()) return true;
  if (s.size() == 1) return s[0] == "root" || s[0] == "home" || s[0] == "Users";
  return s.size() == 2 && (s[0] == "home" || s[0] == "Users");
}

bool WithinWorkspaceRoots(std::string_view dir, const std::vector<std::string>& roots) {
  const std::vector<std::string_view> d = Segments(dir);
  for (const std::string& root : roots) {
    const std::vector<std::string_view> r = Segments(root);
    if (r.empty() || r.size() > d.size()) continue;
    bool match = true;
    for (size_t i = 0; i < r.size() && match; ++i) match = GlobMatches(r[i], d[i]);
    if (match) return true;
  }
  return false;
}

bool HasGitEntry(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / ".git", ec) && !ec;
}

RunWorkspace ResolveSessionWorkspace(const SessionOrigin& origin,
                                     const std::vector<std::string>& policy_roots,
                                     const std::function<bool(const std::string&)>& is_repository) {
  const std::vector<std::string>& token_roots = origin.token_roots;
  if (policy_roots.empty() && token_roots.empty()) return {};
  constexpr size_t kMaxShown = 1024;
  const std::string& cwd = origin.cwd;
  auto refuse = [&](std::string why) {
    return RunWorkspace{cwd.substr(0, kMaxShown), "the session's workspace was refused: " + why};
  };
  if (cwd.empty()) return refuse("the hook input has no cwd");
  if (cwd[0] != '/') return refuse("its cwd '" + cwd.substr(0, kMaxShown) + "' is not absolute");
  Result<std::string> norm = NormalizePath(cwd);
  const bool control = std::any_of(cwd.begin(), cwd.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  if (!norm.ok() || *norm != cwd || control) {
    return refuse("its cwd '" + cwd.substr(0, kMaxShown) +
                  "' is not a normalised path (no '.', '..', '//' or trailing '/')");
  }
  if (IsHomeOrRoot(cwd)) {
    return refuse("its cwd " + cwd +
                  " is / or a home directory, never a project; start Claude Code in a project "
                  "directory");
  }
  if (!policy_roots.empty() && !WithinWorkspaceRoots(cwd, policy_roots)) {
    return refuse("its cwd " + cwd + " lies outside the policy's workspace_roots (" +
                  JoinRoots(policy_roots) + ")");
  }
  if (!token_roots.empty() && !WithinWorkspaceRoots(cwd, token_roots)) {
    return refuse("its cwd " + cwd + " lies outside the workspace roots bound to the token (" +
                  JoinRoots(token_roots) + ")");
  }
  auto qualifies = [&](const std::string& dir) {
    return !IsHomeOrRoot(dir) &&
           (policy_roots.empty() || WithinWorkspaceRoots(dir, policy_roots)) &&
           (token_roots.empty() || WithinWorkspaceRoots(dir, token_roots));
  };
  // The repository the cwd is in, as long as it still qualifies (a dotfiles repository in
  // the home directory is not the project).
  if (is_repository) {
    constexpr int kMaxDepth = 64;
    std::string dir = cwd;
    for (int i = 0; i < kMaxDepth && qualifies(dir); ++i, dir = Parent(dir)) {
      if (is_repository(dir)) return RunWorkspace{dir, ""};
    }
  }
  return RunWorkspace{cwd, ""};
}

boost::json::array WorkspaceRootsArray(const std::vector<std::string>& roots) {
  boost::json::array a;
  for (const std::string& r : roots) a.emplace_back(r);
  return a;
}

std::string WorkspaceRootsJson(const std::vector<std::string>& roots) {
  return boost::json::serialize(WorkspaceRootsArray(roots));
}

Result<std::vector<std::string>> ParseWorkspaceRootsJson(std::string_view text) {
  Result<boost::json::value> v = ParseOwnJson(text);
  if (!v.ok() || !v->is_array()) {
    return Error::Corrupt("store: tokens.workspace_roots is not an array");
  }
  std::vector<std::string> out;
  for (const boost::json::value& r : v->get_array()) {
    if (!r.is_string()) return Error::Corrupt("store: tokens.workspace_roots holds a non-string");
    out.emplace_back(r.get_string());
  }
  return out;
}

Status CheckTokenWorkspaceRoots(Role role, const std::vector<std::string>& roots) {
  if (roots.empty()) return Status::Ok();
  if (role != Role::kAgent) return Error::Invalid("only agent tokens are bound to workspace roots");
  constexpr size_t kMaxTokenRoots = 64;
  if (roots.size() > kMaxTokenRoots) {
    return Error::Invalid("a token is bound to at most " + std::to_string(kMaxTokenRoots) +
                          " workspace roots");
  }
  for (const std::string& r : roots) {
    INTERLOCK_RETURN_IF_ERROR(CheckWorkspaceRoot(r));
  }
  return Status::Ok();
}

}  // namespace interlock::core
