#include "common/private_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "common/file.h"

namespace interlock {

Status CreatePrivateDirectories(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  // The missing part of the path, outermost first.
  std::vector<std::filesystem::path> missing;
  for (std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
       !p.empty() && p != p.root_path(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return Error::Invalid(p.string() + " is not a directory");
      break;
    }
    if (errno != ENOENT)
      return Error::Unavailable("cannot reach " + p.string() + ": " + ErrnoText());
    missing.push_back(p);
    if (p.parent_path() == p) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      return Error::Unavailable("cannot create " + it->string() + ": " + ErrnoText());
    }
  }
  return Status::Ok();
}

Result<bool> CreatePrivateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    return Error::Unavailable("cannot create " + path + ": " + ErrnoText());
  }
  ::close(fd);
  return true;
}

}  // namespace interlock
