// Small text helpers shared by the modules.
// Thread-safety: free functions; safe from any thread.
#ifndef INTERLOCK_COMMON_TEXT_H_
#define INTERLOCK_COMMON_TEXT_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
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

// The pieces of `s` between the `sep` bytes, empty ones included: SplitView("a,,b", ',') ==
// {"a", "", "b"}; {""} for an empty `s`. The views point into `s`.
inline std::vector<std::string_view> SplitView(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

// `s` escaped by a table: each byte the table names replaced by its text, every other byte
// kept. EscapeBytes("a<b", {{'<', "&lt;"}}) == "a&lt;b".
inline std::string EscapeBytes(std::string_view s,
                               std::initializer_list<std::pair<char, std::string_view>> table) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto* e = table.begin();
    while (e != table.end() && e->first != c) ++e;
    if (e == table.end()) {
      out += c;
    } else {
      out += e->second;
    }
  }
  return out;
}

}  // namespace interlock

#endif  // INTERLOCK_COMMON_TEXT_H_
