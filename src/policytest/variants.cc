// Seeds, and the path, URL, tool-name and argument-type families of the adversarial
// variants (variants.h); the shell and git families are in variants_shell.cc.
#include "policytest/variants.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <boost/json.hpp>

#include "common/json.h"
#include "common/text.h"
#include "policy/loader.h"
#include "policy/yaml_tree.h"

namespace interlock::policytest {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void AddUnique(std::vector<std::string>* v, std::string s) {
  if (!s.empty() && std::find(v->begin(), v->end(), s) == v->end()) v->push_back(std::move(s));
}

std::string NormalPath(const std::string& p) {
  std::string n = fs::path(p).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

bool HostLike(const std::string& s) {
  if (s.find('.') == std::string::npos || s.front() == '.' || s.back() == '.') return false;
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '-'; }) &&
         std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isalpha(c); });
}

// The host of "scheme://[userinfo@]host[:port]/...", lower case; "" when not a URL.
std::string UrlHost(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  rest = rest.substr(0, rest.find(':'));
  return AsciiLower(rest);
}

void AddSeedValue(const std::string& key, const std::string& value, Seeds* seeds) {
  if (key == "path_prefix" || key == "redirect_paths") {
    if (!value.empty() && value[0] == '/') AddUnique(&seeds->paths, NormalPath(value));
  } else if (key == "pattern" || key == "not_pattern") {
    if (key == "not_pattern") return;
    const std::string prefix = RegexLiteralPrefix(value);
    if (prefix.size() > 1 && prefix[0] == '/') AddUnique(&seeds->paths, NormalPath(prefix));
    // A command with its arguments that a pattern starts with (`git status.*`): what an
    // attacker puts first.
    if (size_t end = prefix.find_last_not_of(' ');
        end != std::string::npos && std::isalpha(static_cast<unsigned char>(prefix[0])) &&
        prefix.substr(0, end + 1).find(' ') != std::string::npos &&
        prefix.find("://") == std::string::npos) {
      AddUnique(&seeds->commands, prefix.substr(0, end + 1));
    }
    const std::string lit = RegexLongestLiteral(value);
    if (HostLike(lit)) AddUnique(&seeds->hosts, AsciiLower(lit));
    if (const std::string h = UrlHost(prefix); HostLike(h)) AddUnique(&seeds->hosts, h);
  } else if (key == "url" || key == "hosts" || key == "allow_url") {
    std::string h = value.find("://") != std::string::npos ? UrlHost(value) : AsciiLower(value);
    if (h.rfind("*.", 0) == 0) h = h.substr(2);
    if (HostLike(h)) AddUnique(&seeds->hosts, h);
  } else if (key == "shell") {
    // An allowed command: its literal words before the first pattern word.
    std::string cmd;
    std::istringstream words(value);
    for (std::string w; words >> w;) {
      if (w.find_first_of("*?[$") != std::string::npos) break;
      cmd += (cmd.empty() ? "" : " ") + w;
    }
    if (!cmd.empty()) AddUnique(&seeds->commands, cmd);
  }
}

// Walks a policy document: scalars under the keys that hold allowed values.
void Walk(const YamlNode& n, const std::string& key, const std::string& parent, Seeds* seeds) {
  if (n.IsScalar()) {
    std::string k = key;
    if (key == "allow" && parent == "shell") k = "shell";
    if (key == "allow" && parent == "url") k = "url";
    AddSeedValue(k, n.Scalar(), seeds);
  } else if (n.IsSequence()) {
    for (const YamlNode& i : n.items()) Walk(i, key, parent, seeds);
  } else if (n.IsMap()) {
    for (const YamlNode::Entry& e : n.entries()) Walk(e.second, e.first.Scalar(), key, seeds);
  }
}

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// ---- paths ----

size_t Depth(const std::string& prefix) {
  return static_cast<size_t>(std::count(prefix.begin(), prefix.end(), '/'));
}

std::string Ups(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += "/..";
  return s;
}

// ---- URLs ----

struct UrlParts {
  std::string scheme, userinfo, host, port, rest;  // rest: path, query, fragment
};

bool SplitUrl(std::string_view url, UrlParts* p) {
  const size_t s = url.find("://");
  if (s == std::string_view::npos || s == 0) return false;
  p->scheme = std::string(url.substr(0, s));
  std::string_view after = url.substr(s + 3);
  const size_t end = after.find_first_of("/?#");
  std::string_view auth = after.substr(0, end);
  p->rest = end == std::string_view::npos ? "/" : std::string(after.substr(end));
  if (const size_t at = auth.rfind('@'); at != std::string_view::npos) {
    p->userinfo = std::string(auth.substr(0, at));
    auth = auth.substr(at + 1);
  }
  if (const size_t colon = auth.rfind(':');
      colon != std::string_view::npos && auth.find(']') == std::string_view::npos) {
    p->port = std::string(auth.substr(colon));
    auth = auth.substr(0, colon);
  }
  p->host = std::string(auth);
  return !p->host.empty();
}

bool DottedQuad(const std::string& h, unsigned* out) {
  unsigned parts[4];
  char tail;
  if (std::sscanf(h.c_str(), "%u.%u.%u.%u%c", &parts[0], &parts[1], &parts[2], &parts[3], &tail) !=
      4)
    return false;
  *out = 0;
  for (unsigned x : parts) {
    if (x > 255) return false;
    *out = (*out << 8) | x;
  }
  return true;
}

// The fullwidth form (U+FF01..U+FF5E) of an ASCII letter, which UTS #46 maps back to it.
std::string Fullwidth(char c) {
  const unsigned cp = 0xFF01 + static_cast<unsigned>(c - '!');
  std::string out;
  out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
  out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
  out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  return out;
}

// ---- calls ----

// Calls `fn` on each string, number and boolean of `v` (nested too), with its key.
void ForEachLeaf(json::value& v, const std::string& key,
                 const std::function<void(json::value&, const std::string&)>& fn) {
  if (v.is_object()) {
    for (auto& kv : v.as_object()) ForEachLeaf(kv.value(), std::string(kv.key()), fn);
  } else if (v.is_array()) {
    for (json::value& i : v.as_array()) ForEachLeaf(i, key, fn);
  } else {
    fn(v, key);
  }
}

bool ShellKey(const std::string& key) {
  const std::string k = AsciiLower(key);
  return k == "command" || k == "cmd" || k == "script" || k == "shell" || k == "commandline";
}

}  // namespace

std::string RegexLiteralPrefix(std::string_view re) {
  std::string out;
  size_t i = 0;
  if (!re.empty() && re[0] == '^') i = 1;
  for (; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\' && i + 1 < re.size() && std::ispunct(static_cast<unsigned char>(re[i + 1]))) {
      out.push_back(re[++i]);
    } else if (std::string_view(".*+?()[]{}|^$\\").find(c) != std::string_view::npos) {
      // A quantifier binds the last literal: it is no longer fixed.
      if ((c == '*' || c == '?' || c == '{') && !out.empty()) out.pop_back();
      break;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string RegexLongestLiteral(std::string_view re) {
  std::string best, cur;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\' && i + 1 < re.size() && std::ispunct(static_cast<unsigned char>(re[i + 1]))) {
      cur.push_back(re[++i]);
      continue;
    }
    if (std::string_view(".*+?()[]{}|^$\\").find(c) != std::string_view::npos) {
      if ((c == '*' || c == '?' || c == '{') && !cur.empty()) cur.pop_back();
      if (cur.size() > best.size()) best = cur;
      cur.clear();
      continue;
    }
    cur.push_back(c);
  }
  return cur.size() > best.size() ? cur : best;
}

Seeds CollectSeeds(const std::vector<std::string>& policy_paths, const std::string& workspace) {
  Seeds seeds;
  std::vector<std::string> files;
  for (const std::string& p : policy_paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      files.push_back(p);
      continue;
    }
    for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const std::string ext = it->path().extension().string();
      if ((ext == ".yaml" || ext == ".yml") && !policy::CompanionOf(name))
        files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    Result<YamlNode> doc = ReadYamlTree(Replace(text.str(), "${workspace}", workspace), f);
    if (doc.ok()) Walk(*doc, "", "", &seeds);
  }
  return seeds;
}

std::vector<ValueVariant> PathVariants(std::string_view path_in, const Seeds& seeds,
                                       bool case_insensitive) {
  std::vector<ValueVariant> out;
  const std::string path(path_in);
  if (path.empty() || path[0] != '/') return out;
  // An allowed prefix, then enough `..` to climb back to the root, then the path: the same
  // file once `..` is resolved (POSIX pathname resolution; a prefix that is a symbolic
  // link resolves elsewhere, which the case must name).
  for (const std::string& prefix : seeds.paths) {
    if (path.rfind(prefix + "/", 0) == 0 || path == prefix) continue;
    const std::string base = prefix == "/" ? "" : prefix;
    out.push_back({"path-dotdot", base + Ups(Depth(base)) + path});
    out.push_back({"path-dotdot", base + "/" + Ups(Depth(base) + 1).substr(1) + path});
    out.push_back({"path-dotdot", base + "/./" + Ups(Depth(base)).substr(1) + path});
  }
  // Through a link the test file names whose target holds the path (POSIX 4.13: a
  // symbolic link's target replaces it): the same file on that machine.
  for (const auto& [link, target] : seeds.links) {
    const std::string base = target == "/" ? "" : target;
    if (path.rfind(base + "/", 0) == 0 || path == target) {
      out.push_back({"path-symlink", link + path.substr(base.size())});
    }
  }
  const size_t second = path.find('/', 1);
  out.push_back({"path-dots", "/." + path});
  out.push_back({"path-slashes", "/" + path});
  if (second != std::string::npos) {
    out.push_back({"path-slashes", path.substr(0, second) + "/" + path.substr(second)});
    out.push_back({"path-dots", path.substr(0, second) + "/." + path.substr(second)});
    out.push_back({"path-dotdot", path.substr(0, second) + "/x/.." + path.substr(second)});
  }
  if (path.size() > 1 && path.back() == '/') {
    out.push_back({"path-trailing", path.substr(0, path.size() - 1)});
  } else if (fs::path(path).extension().empty() && path.size() > 1) {
    out.push_back({"path-trailing", path + "/"});
    out.push_back({"path-trailing", path + "/."});
  }
  if (case_insensitive) {
    out.push_back({"path-case", Upper(path)});
    std::string first = path;
    for (char& c : first) {
      if (std::islower(static_cast<unsigned char>(c))) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        break;
      }
    }
    out.push_back({"path-case", first});
    if (path.back() != '/') out.push_back({"path-trailing-dot", path + "."});
    // NFD: a precomposed e-acute (U+00E9) decomposed to e + U+0301, as APFS and HFS+
    // compare names.
    if (path.find("\xC3\xA9") != std::string::npos) {
      out.push_back({"path-unicode-nfd", Replace(path, "\xC3\xA9", "e\xCC\x81")});
    }
  }
  return out;
}

std::vector<ValueVariant> UrlVariants(std::string_view url, const Seeds& seeds) {
  std::vector<ValueVariant> out;
  UrlParts p;
  if (!SplitUrl(url, &p)) return out;
  const std::string tail = p.port + p.rest;
  const std::string base = p.scheme + "://";
  const std::string user = p.userinfo.empty() ? "" : p.userinfo + "@";
  size_t used = 0;
  for (const std::string& h : seeds.hosts) {
    if (h == AsciiLower(p.host) || used++ == 4) continue;
    // RFC 3986 3.2.1: what comes before the last '@' of the authority is userinfo.
    out.push_back({"url-userinfo", base + h + "@" + p.host + tail});
    out.push_back({"url-userinfo", base + h + ":443@" + p.host + tail});
    // The fragment is never sent (RFC 3986 3.5).
    out.push_back({"url-fragment", std::string(url) + "#" + base + h + "/"});
    // WHATWG URL: `\` ends the authority of a special scheme; an RFC 3986 reader sees
    // userinfo up to the '@' and the allowed host after it.
    if (p.scheme == "http" || p.scheme == "https")
      out.push_back({"url-backslash", base + user + p.host + "\\@" + h + "/" + p.rest.substr(1)});
  }
  out.push_back({"url-case", Upper(p.scheme) + "://" + user + Upper(p.host) + tail});
  out.push_back({"url-host-dot", base + user + p.host + "." + tail});  // the DNS root label
  if (!p.host.empty() && std::isalpha(static_cast<unsigned char>(p.host[0]))) {
    char enc[8];
    std::snprintf(enc, sizeof enc, "%%%02X", static_cast<unsigned char>(p.host[0]));
    out.push_back(
        {"url-percent-host", base + user + enc + p.host.substr(1) + tail});  // WHATWG host parser
    out.push_back({"url-idna", base + user + Fullwidth(p.host[0]) + p.host.substr(1) + tail});
    out.push_back(
        {"url-idna", base + user + Replace(p.host, ".", "\xE3\x80\x82") + tail});  // U+3002
  }
  // Percent-encoded unreserved characters are equivalent (RFC 3986 6.2.2.2).
  for (size_t i = 1; i < p.rest.size(); ++i) {
    if (std::isalpha(static_cast<unsigned char>(p.rest[i]))) {
      char enc[8];
      std::snprintf(enc, sizeof enc, "%%%02X", static_cast<unsigned char>(p.rest[i]));
      out.push_back({"url-percent-path", base + user + p.host + p.port + p.rest.substr(0, i) + enc +
                                             p.rest.substr(i + 1)});
      break;
    }
  }
  unsigned ip = 0;
  if (DottedQuad(p.host, &ip)) {  // inet_aton(3) and the WHATWG IPv4 parser read them all
    char buf[64];
    std::snprintf(buf, sizeof buf, "%u", ip);
    out.push_back({"url-ip", base + user + buf + tail});
    std::snprintf(buf, sizeof buf, "0x%08x", ip);
    out.push_back({"url-ip", base + user + buf + tail});
    std::snprintf(buf, sizeof buf, "0%o.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
                  ip & 255);
    out.push_back({"url-ip", base + user + buf + tail});
    out.push_back({"url-ip", base + user + "[::ffff:" + p.host + "]" + tail});
  }
  return out;
}

std::vector<ValueVariant> ToolNameVariants(std::string_view tool_in) {
  std::vector<ValueVariant> out;
  const std::string tool(tool_in);
  out.push_back({"tool-case", Upper(tool)});
  out.push_back({"tool-case", AsciiLower(tool)});
  std::string title = AsciiLower(tool);
  if (!title.empty())
    title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
  out.push_back({"tool-case", title});
  // Unicode look-alikes (Cyrillic a, e, o; UTS #39 confusables) and invisible characters.
  static const std::pair<char, const char*> kConfusable[] = {
      {'a', "\xD0\xB0"}, {'e', "\xD0\xB5"}, {'o', "\xD0\xBE"}, {'i', "\xD1\x96"}};
  for (const auto& [ascii, look] : kConfusable) {
    if (const size_t at = tool.find(ascii); at != std::string::npos) {
      out.push_back({"tool-unicode", tool.substr(0, at) + look + tool.substr(at + 1)});
      break;
    }
  }
  out.push_back({"tool-unicode", tool + "\xE2\x80\x8B"});  // U+200B zero width space
  out.push_back({"tool-unicode", tool + " "});
  return out;
}

std::vector<Variant> GenerateVariants(const json::object& call, const Seeds& seeds,
                                      const VariantOptions& options, bool* capped) {
  std::vector<Variant> out;
  std::set<std::string> seen{CanonicalJson(call)};
  if (capped != nullptr) *capped = false;
  auto push = [&](std::string family, std::string what, json::object c) {
    if (!seen.insert(CanonicalJson(c)).second) return;
    if (out.size() >= options.max_variants) {
      if (capped != nullptr) *capped = true;
      return;
    }
    out.push_back({std::move(family), std::move(what), std::move(c)});
  };
  // Each leaf of args, by its position in a walk that is the same on every copy.
  const json::value args = call.contains("args") ? call.at("args") : json::value(json::object());
  size_t leaves = 0;
  json::value probe = args;
  ForEachLeaf(probe, "", [&](json::value&, const std::string&) { ++leaves; });
  for (size_t n = 0; n < leaves; ++n) {
    json::value copy = args;
    json::value* leaf = nullptr;
    std::string key;
    size_t k = 0;
    ForEachLeaf(copy, "", [&](json::value& v, const std::string& name) {
      if (k++ == n) {
        leaf = &v;
        key = name;
      }
    });
    const json::value original = *leaf;
    auto emit = [&](const std::string& family, json::value v, const std::string& what) {
      *leaf = std::move(v);
      json::object c = call;
      c["args"] = copy;
      push(family, what, std::move(c));
      *leaf = original;
    };
    if (original.is_string()) {
      const std::string s(original.as_string());
      std::vector<ValueVariant> vv;
      if (s.find("://") != std::string::npos) {
        vv = UrlVariants(s, seeds);
      } else if (ShellKey(key)) {
        vv = ShellVariants(s, seeds);
      } else if (!s.empty() && s[0] == '/') {
        vv = PathVariants(s, seeds, options.case_insensitive_paths);
      }
      for (ValueVariant& v : vv) emit(v.family, json::string(v.text), v.text);
      emit("arg-type", json::array{json::string(s)}, "[" + ToJsonText(json::string(s)) + "]");
      if (auto num = ParseJsonStrict(s); num.ok() && num->is_number()) emit("arg-type", *num, s);
    } else if (original.is_number() || original.is_bool()) {
      emit("arg-type", json::string(ToJsonText(original)), "\"" + ToJsonText(original) + "\"");
    }
  }
  if (call.contains("tool") && call.at("tool").is_string()) {
    for (ValueVariant& v : ToolNameVariants(std::string(call.at("tool").as_string()))) {
      json::object c = call;
      c["tool"] = json::string(v.text);
      push(v.family, v.text, std::move(c));
    }
  }
  return out;
}

}  // namespace interlock::policytest
