// A stand-in for every program in the bash differential test's PATH: it records the argv
// it was executed with and does nothing else. One record per run, appended with a single
// write(2) to the file $IL_ARGV_LOG: the argument count in decimal, then each argument,
// every field ending in a NUL byte. Named `il-notfound` (bash's command_not_found_handle
// calls it with the missing command's argv), it drops its own argv[0]. Exits 0.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  const char* log = std::getenv("IL_ARGV_LOG");
  if (log == nullptr || argc < 1) return 0;
  int first = 0;
  const char* slash = std::strrchr(argv[0], '/');
  const char* base = slash == nullptr ? argv[0] : slash + 1;
  if (std::strcmp(base, "il-notfound") == 0) first = 1;
  std::string record = std::to_string(argc - first);
  record.push_back('\0');
  for (int i = first; i < argc; ++i) {
    record.append(argv[i]);
    record.push_back('\0');
  }
  const int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  const char* p = record.data();
  size_t left = record.size();
  while (left > 0) {
    const ssize_t n = write(fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  close(fd);
  return 0;
}
