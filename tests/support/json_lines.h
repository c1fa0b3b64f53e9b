// Small readers the integration tests share: JSON lines (what `interlock audit export`
// prints) and the ```json blocks of a section of a docs page (settings a user would paste).
// Header-only; a line or block that does not parse throws (the test fails on it).
#ifndef INTERLOCK_TESTS_SUPPORT_JSON_LINES_H_
#define INTERLOCK_TESTS_SUPPORT_JSON_LINES_H_

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace interlock::testing {

// Every non-empty line of `text`, each a JSON object, in order.
inline std::vector<boost::json::object> ParseJsonLines(const std::string& text) {
  std::vector<boost::json::object> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(start, nl - start);
    start = nl + 1;
    if (!line.empty()) out.push_back(boost::json::parse(line).as_object());
  }
  return out;
}

// Every ```json block of the section of `page` (Markdown) headed `heading` (a whole line,
// e.g. "## Claude Code hook"), up to the next heading of that level, parsed, in page order.
inline std::vector<boost::json::value> JsonBlocksOfSection(const std::string& page,
                                                           std::string_view heading) {
  const std::string head = "\n" + std::string(heading) + "\n";
  const std::string level = "\n" + std::string(heading.substr(0, heading.find(' ') + 1));
  const size_t begin = page.find(head);
  if (begin == std::string::npos) return {};
  const size_t end = page.find(level, begin + 1);
  const std::string section = page.substr(begin, end == std::string::npos ? end : end - begin);
  std::vector<boost::json::value> out;
  for (size_t at = section.find("```json\n"); at != std::string::npos;
       at = section.find("```json\n", at + 1)) {
    const size_t from = at + 8;
    out.push_back(boost::json::parse(section.substr(from, section.find("```", from) - from)));
  }
  return out;
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_JSON_LINES_H_
