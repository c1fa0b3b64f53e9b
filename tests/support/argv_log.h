// ReadArgvLog: the records a stub program (unit/policy/shell_argv_stub.cc) appended to its
// $IL_ARGV_LOG file, each its argument count in decimal then each argument, every field
// NUL-terminated; one argv a record, in the order they were written (a record cut short
// keeps the arguments it has). Header-only.
#ifndef INTERLOCK_TESTS_SUPPORT_ARGV_LOG_H_
#define INTERLOCK_TESTS_SUPPORT_ARGV_LOG_H_

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace interlock::testing {

inline std::vector<std::vector<std::string>> ReadArgvLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::vector<std::string>> out;
  size_t k = 0;
  auto field = [&](std::string* f) {
    const size_t nul = data.find('\0', k);
    if (nul == std::string::npos) return false;
    *f = data.substr(k, nul - k);
    k = nul + 1;
    return true;
  };
  std::string count;
  while (k < data.size() && field(&count)) {
    std::vector<std::string> argv;
    const long n = std::strtol(count.c_str(), nullptr, 10);
    for (long j = 0; j < n; ++j) {
      std::string f;
      if (!field(&f)) break;
      argv.push_back(std::move(f));
    }
    out.push_back(std::move(argv));
  }
  return out;
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_ARGV_LOG_H_
