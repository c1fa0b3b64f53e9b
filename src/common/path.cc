#include "common/path.h"

#include <algorithm>
#include <vector>

#include "common/text.h"

namespace interlock {

Result<std::string> NormalizePath(std::string_view path) {
  if (path.empty()) return Error::Invalid("path is empty");
  for (char c : path) {
    if (c == '\0') return Error::Invalid("path contains a NUL byte");
    if (c == '\\') return Error::Invalid("path contains a backslash");
    if (c == '%') return Error::Invalid("path contains percent-encoding");
  }
  const bool absolute = path.front() == '/';
  std::vector<std::string_view> parts;
  for (std::string_view seg : SplitView(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (parts.empty()) {
        if (!absolute) return Error::Invalid("relative path climbs above its start");
        continue;  // "/.." is "/"
      }
      parts.pop_back();
      continue;
    }
    parts.push_back(seg);
  }
  // Built with push_back/append: g++ 12 reports a false -Wrestrict for operator+= here.
  std::string out;
  out.reserve(path.size() + 1);
  if (absolute) out.push_back('/');
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out.push_back('/');
    out.append(parts[k].data(), parts[k].size());
  }
  if (out.empty()) out.push_back('.');
  return out;
}

Status CheckWorkspaceRoot(std::string_view root) {
  const std::string shown(root.substr(0, 200));
  Result<std::string> norm = NormalizePath(root);
  const bool control = std::any_of(root.begin(), root.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  if (root.empty() || root.size() > 1024 || root[0] != '/' || !norm.ok() || *norm != root ||
      control) {
    return Error::Invalid("the workspace root '" + shown +
                          "' is not an absolute, normalised path pattern (no '.', '..', '//' or "
                          "trailing '/'), such as /home/*/src/*");
  }
  if (root == "/" || root == "/*") {
    return Error::Invalid("the workspace root '" + shown +
                          "' would let a session claim any directory as its project; name the "
                          "directories projects live in, such as /home/*/src/*");
  }
  return Status::Ok();
}

bool PathHasPrefix(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return !path.empty() && path.front() == '/';
  if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace interlock
