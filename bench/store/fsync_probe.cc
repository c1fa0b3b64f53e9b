// What one fdatasync costs on the disk under DIR, by how the bytes reach the file: appended
// (the file grows), overwritten (the blocks were written and synced before) or written into a
// fallocate(2)d region (allocated, never written). docs/performance.md, "The stdio MCP
// gateway", uses it to tell what a WAL written ahead would save.
//   fsync_probe DIR [WRITES]   (DIR: a directory on the disk to measure; WRITES default 500)
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

enum class Mode { kAppend, kOverwrite, kFallocated };

double Micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// p50 and p90 of `writes` pwrite+fdatasync pairs of `size` bytes at consecutive offsets.
bool Probe(const std::string& dir, Mode mode, size_t size, int writes) {
  const std::string path = dir + "/fsync_probe.tmp";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    return false;
  }
  const off_t total = static_cast<off_t>(size) * writes;
  bool ok = true;
  if (mode == Mode::kOverwrite) {
    const std::vector<char> zeros(1 << 20, 0);
    for (off_t done = 0; done < total && ok; done += static_cast<off_t>(zeros.size())) {
      ok = ::pwrite(fd, zeros.data(), zeros.size(), done) == static_cast<ssize_t>(zeros.size());
    }
  } else if (mode == Mode::kFallocated) {
    ok = ::fallocate(fd, 0, 0, total) == 0;
  }
  ok = ok && ::fdatasync(fd) == 0;
  const std::vector<char> bytes(size, 'x');
  std::vector<double> us;
  us.reserve(static_cast<size_t>(writes));
  for (int i = 0; i < writes && ok; ++i) {
    const auto start = std::chrono::steady_clock::now();
    ok = ::pwrite(fd, bytes.data(), size, static_cast<off_t>(size) * i) ==
             static_cast<ssize_t>(size) &&
         ::fdatasync(fd) == 0;
    us.push_back(Micros(std::chrono::steady_clock::now() - start));
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!ok) {
    std::perror("write or fdatasync");
    return false;
  }
  std::sort(us.begin(), us.end());
  const char* name = mode == Mode::kAppend      ? "append"
                     : mode == Mode::kOverwrite ? "overwrite"
                                                : "fallocated";
  std::printf("%-10s %7zu B  p50 %6.0f us  p90 %6.0f us\n", name, size, us[us.size() / 2],
              us[us.size() * 9 / 10]);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fsync_probe DIR [WRITES]\n");
    return 2;
  }
  const int writes = argc > 2 ? std::max(10, std::atoi(argv[2])) : 500;
  for (const size_t size : {size_t{4096}, size_t{20480}, size_t{81920}}) {
    for (const Mode mode : {Mode::kAppend, Mode::kOverwrite, Mode::kFallocated}) {
      if (!Probe(argv[1], mode, size, writes)) return 1;
    }
  }
  return 0;
}
