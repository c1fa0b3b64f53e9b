// Small readers the integration tests share: JSON lines (what `interlock audit export`
// prints), the last line a client printed, an answer by its JSON-RPC id, the ```json blocks
// of a section of a docs page (settings a user would paste) and occurrences of a string.
// Header-only; a line or block that does not parse throws (the test fails on it), but for
// TryParseLastLine.
#ifndef INTERLOCK_TESTS_SUPPORT_JSON_LINES_H_
#define INTERLOCK_TESTS_SUPPORT_JSON_LINES_H_

#include <initializer_list>
#include <optional>
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

// What a stdio MCP client (protocol 2025-06-18) writes first: initialize (id 1) and
// notifications/initialized, one JSON line each.
inline constexpr char kStdioInit[] =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})"
    "\n"
    R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
    "\n";

// A JSON-RPC tools/call of `tool` with `args`, id `id`, as one line without its newline.
inline std::string ToolsCall(int id, const std::string& tool, const boost::json::object& args) {
  return boost::json::serialize(
      boost::json::object{{"jsonrpc", "2.0"},
                          {"id", id},
                          {"method", "tools/call"},
                          {"params", boost::json::object{{"name", tool}, {"arguments", args}}}});
}

// The last non-empty line of `out` (what an SDK client prints last).
inline std::string LastNonEmptyLine(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const size_t nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

// The last non-empty line of `out`, parsed.
inline boost::json::value ParseLastLine(const std::string& out) {
  return boost::json::parse(LastNonEmptyLine(out));
}

// The last non-empty line of `out`, parsed; nullopt when it is no JSON.
inline std::optional<boost::json::value> TryParseLastLine(const std::string& out) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(LastNonEmptyLine(out), ec);
  if (ec) return std::nullopt;
  return v;
}

// The answer (not a request) with JSON-RPC id `id` among `msgs`, or nullptr.
inline const boost::json::object* ById(const boost::json::array& msgs, int id) {
  for (const boost::json::value& m : msgs) {
    const boost::json::object& o = m.as_object();
    if (o.contains("id") && !o.contains("method") && o.at("id") == boost::json::value(id)) {
      return &o;
    }
  }
  return nullptr;
}

// The string at `path` (object keys) in `v`; "" when a key is missing or the value is no
// string.
inline std::string Str(const boost::json::value& v, std::initializer_list<const char*> path) {
  const boost::json::value* x = &v;
  for (const char* k : path) {
    if (!x->is_object()) return "";
    x = x->as_object().if_contains(k);
    if (x == nullptr) return "";
  }
  return x->is_string() ? std::string(x->as_string()) : "";
}

// The string at `key` of `v` (an object); "" when missing or no string.
inline std::string Str(const boost::json::value& v, const char* key) { return Str(v, {key}); }

// How often `needle` occurs in `haystack`.
inline size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
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
