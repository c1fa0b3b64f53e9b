#include "cli/claude_code_settings.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace interlock::cli {
namespace json = boost::json;

bool ClaudeCodeEventBlocks(std::string_view event) {
  return event == "PreToolUse" || event == "PermissionRequest";
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "[::1]" || host == "::1") return true;
  // 127.0.0.0/8, written as a dotted quad.
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

bool IsEnvVarName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> ClaudeCodeHookUrl(std::string_view daemon_url) {
  auto bad = [&](const std::string& why) {
    return Error::Invalid("--url " + std::string(daemon_url) + ": " + why);
  };
  auto parsed = boost::urls::parse_absolute_uri(daemon_url);
  if (!parsed) return bad("not an absolute http(s) URL");
  const boost::urls::url_view& u = *parsed;
  const std::string scheme(u.scheme());
  if (scheme != "https" && scheme != "http") return bad("the scheme must be https (or http)");
  const std::string host(u.encoded_host());
  if (host.empty()) return bad("no host");
  if (u.has_userinfo())
    return bad("no user info in the URL (the token comes from the environment)");
  if (u.has_query() || u.has_fragment()) return bad("no query or fragment");
  if (scheme == "http" && !IsLoopbackHost(host)) {
    return bad(
        "https is required for a daemon that is not on this machine (each developer's token "
        "and every tool call's arguments travel in the hook's request)");
  }
  std::string path(u.encoded_path());
  // Boost.URL 1.81 reads "http://127.0.0.1.evil.example" as host 127.0.0.1 and path
  // ".evil.example", where Claude Code (and any browser) connects to evil.example.
  if (!path.empty() && path[0] != '/') {
    return bad("the host must be followed by ':PORT', '/' or nothing");
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.size() >= kClaudeCodeHookPath.size() &&
      path.compare(path.size() - kClaudeCodeHookPath.size(), kClaudeCodeHookPath.size(),
                   kClaudeCodeHookPath) == 0) {
    path.resize(path.size() - kClaudeCodeHookPath.size());
  }
  return scheme + "://" + std::string(u.encoded_host_and_port()) + path +
         std::string(kClaudeCodeHookPath);
}

std::string DaemonBaseOfHookUrl(std::string_view hook_url) {
  const size_t query = hook_url.find('?');
  std::string_view path = hook_url.substr(0, query);
  if (path.size() < kClaudeCodeHookPath.size() ||
      path.substr(path.size() - kClaudeCodeHookPath.size()) != kClaudeCodeHookPath) {
    return "";
  }
  return std::string(path.substr(0, path.size() - kClaudeCodeHookPath.size()));
}

json::object ManagedSettings(const ManagedSettingsOptions& options) {
  json::object hooks;
  for (std::string_view event : kClaudeCodeHookEvents) {
    json::object hook{
        {"type", "http"},
        {"url", options.hook_url},
        {"headers", json::object{{"Authorization", "Bearer $" + options.token_env}}},
        {"allowedEnvVars", json::array{json::string(options.token_env)}},
    };
    if (ClaudeCodeEventBlocks(event)) {
      hook["onFailure"] = "block";
      hook["timeout"] = options.timeout_seconds;
    }
    hooks[event] = json::array{json::object{{"matcher", "*"}, {"hooks", json::array{hook}}}};
  }
  return json::object{{"allowManagedHooksOnly", true}, {"hooks", std::move(hooks)}};
}

namespace {

void Indent(const json::value& v, int depth, std::string* out) {
  const std::string pad(static_cast<size_t>(depth + 1) * 2, ' ');
  const std::string close(static_cast<size_t>(depth) * 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    *out += "{\n";
    bool first = true;
    for (const auto& [key, member] : v.get_object()) {
      if (!first) *out += ",\n";
      first = false;
      *out += pad + json::serialize(json::string(key)) + ": ";
      Indent(member, depth + 1, out);
    }
    *out += "\n" + close + "}";
  } else if (v.is_array() && !v.get_array().empty()) {
    *out += "[\n";
    bool first = true;
    for (const json::value& item : v.get_array()) {
      if (!first) *out += ",\n";
      first = false;
      *out += pad;
      Indent(item, depth + 1, out);
    }
    *out += "\n" + close + "]";
  } else {
    *out += json::serialize(v);
  }
}

}  // namespace

std::string IndentedJson(const json::value& value) {
  std::string out;
  Indent(value, 0, &out);
  out += '\n';
  return out;
}

}  // namespace interlock::cli
