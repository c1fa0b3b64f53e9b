#include "core/path_links.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

namespace interlock::core {
namespace {

// Splits `path` into its components after `from`, dropping empty ones ('//').
void PushComponents(std::string_view path, std::deque<std::string>* todo, bool front) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    const size_t slash = path.find('/', i);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > i) parts.emplace_back(path.substr(i, end - i));
    i = end + 1;
  }
  if (front) {
    todo->insert(todo->begin(), parts.begin(), parts.end());
  } else {
    todo->insert(todo->end(), parts.begin(), parts.end());
  }
}

void Climb(std::string* cur) {
  const size_t slash = cur->rfind('/');
  cur->resize(slash == 0 ? 1 : slash);
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace

Result<std::string> OsPathResolver::Resolve(std::string_view path) const {
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string_view::npos) {
    return Error::Invalid("not an absolute path");
  }
  std::deque<std::string> todo;
  PushComponents(path, &todo, false);
  std::string cur = "/";
  bool exists = true;  // `cur` exists: its next component is examined
  int links = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      Climb(&cur);  // `cur` has no link left in it: this is where the kernel climbs too
      continue;
    }
    std::string next = Join(cur, name);
    if (!exists) {
      cur = std::move(next);
      continue;
    }
    struct stat st;
    if (::lstat(next.c_str(), &st) != 0) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) {
        exists = false;
        cur = std::move(next);
        continue;
      }
      return Error::Unavailable("cannot examine " + next + ": " + std::strerror(err));
    }
    if (!S_ISLNK(st.st_mode)) {
      cur = std::move(next);
      continue;
    }
    if (++links > kMaxLinks) {
      return Error::Invalid("more than " + std::to_string(kMaxLinks) +
                            " symbolic links (a loop?) at " + next);
    }
    std::string target(4096, '\0');
    const ssize_t n = ::readlink(next.c_str(), target.data(), target.size());
    if (n < 0) {
      const int err = errno;
      return Error::Unavailable("cannot read the symbolic link " + next + ": " +
                                std::strerror(err));
    }
    if (n == 0 || static_cast<size_t>(n) >= target.size()) {
      return Error::Invalid("the symbolic link " + next + " has an unusable target");
    }
    target.resize(static_cast<size_t>(n));
    if (target[0] == '/') cur = "/";
    PushComponents(target, &todo, true);
  }
  return cur;
}

const OsPathResolver* OsPaths() {
  static const OsPathResolver kResolver;
  return &kResolver;
}

}  // namespace interlock::core
