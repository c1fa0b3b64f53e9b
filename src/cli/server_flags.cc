#include "cli/server_flags.h"

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "mcp/server_env.h"
#include "outbound/http_connector.h"

namespace interlock::cli {

void AddServerFlags(CLI::App* cmd, ServerFlags* flags) {
  cmd->add_option("--url", flags->url,
                  "A Streamable HTTP MCP server (http:// or https://) instead of a command");
  cmd->add_option("--header", flags->headers,
                  "With --url: a header sent with every request, \"Name: value\" (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--header-env", flags->header_env,
                  "With --url: a header whose value is read from an environment variable, "
                  "NAME=VARIABLE (e.g. Authorization=MCP_AUTH), so no secret is on the "
                  "command line (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--ca", flags->ca_file, "With an https:// --url: trust only these CAs (PEM)");
  cmd->add_option("--pass-env", flags->pass_env,
                  "With a server command: pass this variable of Interlock's environment to the "
                  "server, which otherwise gets only PATH, HOME, the locale and a few more "
                  "(docs/mcp.md; repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--timeout", flags->timeout_seconds,
                  "Seconds the whole exchange with the server may take (default 30)")
      ->check(CLI::Range(1, 600));
}

namespace {

bool ValidHeaderName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool ValidHeaderValue(std::string_view v) {
  for (unsigned char c : v) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Result<mcp::ServerSpec> MakeServerSpec(const ServerFlags& flags,
                                       const std::vector<std::string>& command) {
  mcp::ServerSpec spec;
  spec.timeout = std::chrono::seconds(flags.timeout_seconds);
  if (flags.url.empty()) {
    if (command.empty()) {
      return Error::Invalid("no MCP server: give its command after -- or a --url");
    }
    if (!flags.headers.empty() || !flags.header_env.empty() || !flags.ca_file.empty()) {
      return Error::Invalid("--header, --header-env and --ca apply to --url only");
    }
    mcp::ServerEnvSpec env;
    env.pass = flags.pass_env;
    env.forbidden = {std::string(mcp::kInterlockTokenVariable)};
    auto built = mcp::BuildServerEnv(env, mcp::ProcessEnvLookup());
    if (!built.ok()) return Error::Invalid("--pass-env: " + built.error().message);
    spec.command = command;
    spec.env = std::move(*built);
    return spec;
  }
  if (!command.empty()) {
    return Error::Invalid("give either a server command after -- or --url, not both");
  }
  if (!flags.pass_env.empty()) return Error::Invalid("--pass-env applies to a server command");
  spec.url = flags.url;
  spec.connector = outbound::Connector();
  spec.ca_file = flags.ca_file;
  for (const std::string& h : flags.headers) {
    const size_t colon = h.find(':');
    const std::string name = colon == std::string::npos ? "" : Trim(h.substr(0, colon));
    if (!ValidHeaderName(name)) return Error::Invalid("--header wants \"Name: value\", not " + h);
    const std::string value = Trim(h.substr(colon + 1));
    if (!ValidHeaderValue(value)) {
      return Error::Invalid("--header " + name + ": the value holds control characters");
    }
    spec.headers[name] = value;
  }
  for (const std::string& h : flags.header_env) {
    const size_t eq = h.find('=');
    const std::string name = eq == std::string::npos ? "" : h.substr(0, eq);
    if (!ValidHeaderName(name) || eq + 1 >= h.size()) {
      return Error::Invalid("--header-env wants NAME=VARIABLE, not " + h);
    }
    const char* v = std::getenv(h.substr(eq + 1).c_str());
    if (v == nullptr || *v == '\0') {
      return Error::Invalid("--header-env " + h + ": variable " + h.substr(eq + 1) + " is not set");
    }
    if (!ValidHeaderValue(v)) {
      return Error::Invalid("--header-env " + name + ": the value holds control characters");
    }
    spec.headers[name] = v;
  }
  return spec;
}

std::string OneLine(std::string_view text, size_t max_bytes) {
  const size_t nl = text.find_first_of("\r\n");
  if (nl != std::string_view::npos) text = text.substr(0, nl);
  std::string out;
  auto space = [&out] {
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      space();
      ++i;
      continue;
    }
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9f) {  // C1 controls (NEL included)
      space();
      i += 2;
      continue;
    }
    if (c == 0xe2 && i + 2 < text.size()) {
      const unsigned char b1 = static_cast<unsigned char>(text[i + 1]);
      const unsigned char b2 = static_cast<unsigned char>(text[i + 2]);
      // U+2028/2029 (line/paragraph separators), U+202A-202E and U+2066-2069 (bidi).
      if ((b1 == 0x80 && b2 >= 0xa8 && b2 <= 0xae) || (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9)) {
        space();
        i += 3;
        continue;
      }
    }
    if (c == ' ') {
      space();
    } else {
      out.push_back(static_cast<char>(c));
    }
    ++i;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max_bytes) {
    size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

}  // namespace interlock::cli
