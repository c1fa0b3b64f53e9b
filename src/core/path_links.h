// OsPathResolver: the file system behind PathResolver (common/path_resolver.h). The Guard hands it
// to the engine for every decision, so a path argument is judged on the path the operating system
// will open, from every door (docs/policy.md, "Symbolic links").
//
// Resolution walks the path as written, component by component, as the kernel does:
// each existing component is examined with lstat(2); a symbolic link is replaced by its
// target (relative targets against the link's directory), at most kMaxLinks times (then
// it is a loop: an error); `..` climbs from where the links led. At the first component
// that does not exist (ENOENT, ENOTDIR) the rest is appended lexically, as the file the
// call would create. A dangling link is followed to its target, since opening it with
// O_CREAT creates that target. Any other error of lstat or readlink (EACCES, ELOOP) is an
// error, which the engine turns into a deny.
//
// The answer holds for the moment of the check only: a link created or swapped after the
// decision and before the tool opens the path is not seen (time of check to time of use).
// Thread-safety: stateless; safe to call concurrently.
#ifndef INTERLOCK_CORE_PATH_LINKS_H_
#define INTERLOCK_CORE_PATH_LINKS_H_

#include <string>
#include <string_view>

#include "common/path_resolver.h"

namespace interlock::core {

class OsPathResolver final : public PathResolver {
 public:
  static constexpr int kMaxLinks = 40;  // Linux's MAXSYMLINKS
  [[nodiscard]] Result<std::string> Resolve(std::string_view path) const override;
};

// The process's resolver (the Guard's default). Never null.
const OsPathResolver* OsPaths();

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PATH_LINKS_H_
