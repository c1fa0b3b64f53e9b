// PathResolver: the port through which the engine (and the shell checker it runs) learns
// the path the operating system will open for a path argument (symbolic links resolved).
//
// The engine and the policy module do no I/O: a caller that decides calls against a real
// file system (the core's Guard, for every door) hands them an implementation
// (core::OsPathResolver); a caller that replays history (what-if, drift) hands none, and
// paths are then judged lexically only. Implementations must be safe to call from any thread,
// concurrently.
#ifndef INTERLOCK_COMMON_PATH_RESOLVER_H_
#define INTERLOCK_COMMON_PATH_RESOLVER_H_

#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock {

class PathResolver {
 public:
  virtual ~PathResolver() = default;
  // `path` is absolute and has passed NormalizePath (no NUL, no backslash, no
  // percent-encoding); its `.` and `..` are still as written, because `..` after a
  // symbolic link climbs from the link's target, not from the link. Returns the path with
  // the longest existing prefix resolved as realpath(3) does and the rest normalised
  // lexically (a dangling link is followed to its target); an error (a loop, a component
  // that cannot be examined) is a deny for the caller.
  [[nodiscard]] virtual Result<std::string> Resolve(std::string_view path) const = 0;
};

}  // namespace interlock

#endif  // INTERLOCK_COMMON_PATH_RESOLVER_H_
