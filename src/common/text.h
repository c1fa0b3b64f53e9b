// Small text helpers shared by the modules.
// Thread-safety: free functions; safe from any thread.
#ifndef INTERLOCK_COMMON_TEXT_H_
#define INTERLOCK_COMMON_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

namespace interlock {

// The parts with `sep` between them: Join({"a", "b"}, ", ") == "a, b"; "" for none.
inline std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (&p != &parts.front()) out += sep;
    out += p;
  }
  return out;
}

// `s` with ASCII A-Z lower-cased and every other byte (UTF-8 included) kept, whatever the
// process's locale: header names, schemes, hosts, tool names compared without case.
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The value of one hex digit (0-9, a-f, A-F), or -1 for any other byte.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace interlock

#endif  // INTERLOCK_COMMON_TEXT_H_
