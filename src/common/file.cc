#include "common/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace interlock {
namespace {

// Closes the descriptor on every path.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<std::string> ReadFileBounded(const std::string& path, size_t max_bytes,
                                    std::string_view what) {
  const std::string name = std::string(what) + " " + path;
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT) return Error::NotFound(name + " does not exist");
    return Error::Unavailable("cannot read " + name + ": " + std::strerror(errno));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::Unavailable("cannot read " + name + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return Error::Corrupt(name + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return out;
}

Result<std::string> ReadSecretFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Invalid(what + ": cannot read " + path);
  std::string v((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  if (v.empty()) return Error::Invalid(what + ": " + path + " is empty");
  return v;
}

}  // namespace interlock
