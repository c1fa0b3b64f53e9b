// The loader's `tools` section: allowed and blocked rules, their constraints (arguments,
// combinations, shell and url matchers) and the variables those may use. See
// loader_internal.h.

#include "policy/loader_internal.h"

#include <filesystem>
#include <map>
#include <set>

#include "common/env_name.h"
#include "common/path.h"

namespace interlock::policy::loader_internal {

void Parser::ParseTools(const Field& f, AgentPolicy* p) {
  p->tools_at = Loc(f.key_mark);
  auto m = Map(f, {"allowed", "blocked"});
  if (!m) return;
  if (const Field* allowed = m->Get("allowed")) {
    if (auto items = List(*allowed)) {
      for (const Field& item : *items) {
        auto rule = ParseToolRule(item);
        if (!rule) continue;
        // Entries as written (names or patterns); AgentPolicy::Resolve decides calls.
        std::string name = rule->name;
        auto [it, fresh] = p->allowed.try_emplace(std::move(name), std::move(*rule));
        if (!fresh) {
          Error(item.key_mark, "duplicate-tool",
                "tool " + Quote(it->first) + " is listed twice in tools.allowed (first at " +
                    LineCol(it->second.at) + "); merge the entries");
        }
      }
    }
  }
  if (const Field* blocked = m->Get("blocked")) {
    if (auto items = List(*blocked)) {
      for (const Field& item : *items) {
        auto name = ToolName(item);
        if (!name) continue;
        Location at = Loc(item.key_mark);
        // The same entry (name or pattern) in both lists is an error; overlapping but
        // different entries are resolved by AgentPolicy::Resolve and reported by Lint.
        const auto same = p->allowed.lower_bound(*name);
        if (same != p->allowed.end() && same->first == *name) {
          Error(item.key_mark, "allowed-and-blocked",
                "tool " + Quote(*name) + " is both allowed (at " + LineCol(same->second.at) +
                    ") and blocked; remove it from one of the lists");
          continue;
        }
        auto [it, fresh] = p->blocked.try_emplace(*name, at);
        if (!fresh) {
          Error(item.key_mark, "duplicate-tool",
                "tool " + Quote(*name) + " is listed twice in tools.blocked (first at " +
                    LineCol(it->second) + ")");
        }
      }
    }
  }
  p->IndexToolPatterns();
  p->PrepareTexts();
}

std::optional<ToolRule> Parser::ParseToolRule(const Field& f) {
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  ToolRule rule;
  rule.at = Loc(f.key_mark);
  if (*kind == Kind::kString) {  // `- search_docs`: a tool with no extras
    auto name = ToolName(f);
    if (!name) return std::nullopt;
    rule.name = std::move(*name);
    return rule;
  }
  if (*kind != Kind::kMap) {
    WrongType(f, *kind, "a tool name or a mapping with 'name'");
    return std::nullopt;
  }
  // Name the entry in messages by its tool name when it has one, even if other keys are bad.
  Field named = f;
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "name" && it->second.IsScalar()) {
      named.path = "tools.allowed[" + Quote(it->second.Scalar()) + "]";
    }
  }
  auto m = Map(named, {"name", "scope", "scope_argument", "constraints", "requires_approval",
                       "approval_timeout_seconds", "auto_deny_on_timeout", "approvals_required",
                       "reversible", "blast_radius", "autonomy", "redact", "labels", "rate_limit",
                       "rehearse", "on_behalf_of", "credential_scope"});
  if (!m) return std::nullopt;
  const Field* name_field = m->Get("name");
  if (!name_field) {
    Error(f.key_mark, "missing-key", Describe(f.path) + ": missing required key 'name'");
    return std::nullopt;
  }
  auto name = ToolName(*name_field);
  if (!name) return std::nullopt;
  rule.name = *name;
  const std::string path = "tools.allowed[" + Quote(rule.name) + "]";
  for (const Field& item : m->items) {
    Field g = Member(path, item);
    const std::string& k = item.key;
    if (k == "name") continue;
    if (k == "scope") {
      if (auto v = NameList(g)) rule.scope = std::move(*v);
    } else if (k == "scope_argument") {
      if (auto v = Name(g)) rule.scope_argument = std::move(*v);
    } else if (k == "constraints") {
      ParseConstraints(g, path, &rule);
    } else if (k == "requires_approval") {
      if (auto v = Bool(g)) rule.requires_approval = *v;
    } else if (k == "approval_timeout_seconds") {
      if (auto v = Unsigned(g, 1, std::numeric_limits<int>::max())) {
        rule.approval_timeout_seconds = static_cast<int>(*v);
      }
    } else if (k == "auto_deny_on_timeout") {
      if (auto v = Bool(g)) rule.auto_deny_on_timeout = *v;
    } else if (k == "approvals_required") {
      if (auto v = Unsigned(g, 1, 5)) rule.approvals_required = static_cast<int>(*v);
    } else if (k == "reversible") {
      if (auto v = Bool(g)) rule.reversible = *v;
    } else if (k == "blast_radius") {
      rule.blast_radius_written = true;
      if (auto v = Enum(g, {"small", "large"}, {BlastRadius::kSmall, BlastRadius::kLarge})) {
        rule.blast_radius = *v;
      }
    } else if (k == "autonomy") {
      if (auto v = Enum(g, {"gate_all", "exception_based", "audit_based"},
                        {Autonomy::kGateAll, Autonomy::kExceptionBased, Autonomy::kAuditBased})) {
        rule.autonomy = *v;
      }
    } else if (k == "redact") {
      if (auto v = NameList(g)) rule.redact = std::move(*v);
    } else if (k == "labels") {
      rule.labels_written = true;
      if (auto v = Labels(g)) rule.labels = std::move(*v);
    } else if (k == "rate_limit") {
      rule.rate_limit = ParseRateLimit(g);
    } else if (k == "rehearse") {
      rule.rehearse = ParseRehearse(g);
    } else if (k == "on_behalf_of") {
      rule.on_behalf_of = ParseOnBehalfOf(g);
    } else if (k == "credential_scope") {
      rule.credential_scope = ParseCredentialScope(g);
    }
  }
  // A rule with errors is still returned, so the checks across entries (listed twice,
  // both allowed and blocked) report on it too; the errors already fail the policy.
  return rule;
}

void Parser::ParseConstraints(const Field& f, const std::string& tool_path, ToolRule* rule) {
  auto m = Map(f, {"max_records_per_run", "arguments", "combinations"}, false, "allowed_");
  if (!m) return;
  const std::string base = tool_path + ".constraints";
  std::map<std::string, std::string> claimed;  // normalised path -> rule id constraining it
  auto add = [&](ArgConstraint c, const std::string& normalised, const YAML::Mark& mark) {
    if (auto it = claimed.find(normalised); it != claimed.end()) {
      Error(mark, "ambiguous-constraint",
            "argument " + normalised + " is constrained both by " + it->second + " and by " +
                c.rule + "; put all its checks under one entry of constraints.arguments");
      return;
    }
    claimed.emplace(normalised, c.rule);
    rule->constraints.push_back(std::move(c));
  };
  for (const Field& item : m->items) {
    Field g = Member(base, item);
    if (item.key == "max_records_per_run") {
      rule->max_records_at = Loc(item.key_mark);
      if (auto v = Unsigned(g, 1)) rule->max_records_per_run = *v;
    } else if (item.key == "combinations") {
      ParseCombinations(g, base, rule);
    } else if (item.key == "arguments") {
      auto args = Map(g, {}, /*any_key=*/true);
      if (!args) continue;
      for (const Field& arg : args->items) {
        const std::string rule_id = base + ".arguments[" + Quote(arg.key) + "]";
        Field a = arg;
        a.path = rule_id;
        if (arg.key.empty() || HasControl(arg.key)) {
          Error(arg.key_mark, "invalid-value",
                rule_id + ": argument names must be non-empty without control characters");
          continue;
        }
        std::string why;
        auto path = ParseArgPath(arg.key, &why);
        if (!path) {
          Error(arg.key_mark, "invalid-argument-path", rule_id + ": " + why);
          continue;
        }
        if (auto c = ParseArgument(a, rule_id, *path)) {
          add(std::move(*c), path->normalised, arg.key_mark);
        }
      }
    } else {  // allowed_<plural>
      const std::string plural = item.key.substr(std::string_view("allowed_").size());
      auto singular = Singularize(plural);
      if (!singular || singular->empty()) {
        Error(item.key_mark, "uninferable-argument",
              item.key + ": cannot infer argument; use constraints.arguments");
        continue;
      }
      auto items = List(g);
      if (!items) continue;
      ArgConstraint c;
      c.argument = *singular;
      c.rule = g.path;
      c.at = Loc(item.key_mark);
      const bool ok = ParseEach(
          *items, [this](const Field& e) { return ConstraintScalar(e); }, &c.one_of);
      if (ok && c.one_of.empty()) {
        Error(item.key_mark, "empty-constraint",
              g.path +
                  ": the list is empty, so every call would be refused; block the tool "
                  "instead");
        continue;
      }
      const std::string normalised = RenderArgPath(c.argument, {});
      add(std::move(c), normalised, item.key_mark);
    }
  }
}

std::optional<std::string> Parser::Workspace(const Field& f) {
  if (!workspace_checked_) {
    workspace_checked_ = true;
    std::string w = options_.workspace;
    if (w.empty()) {
      std::error_code ec;
      w = std::filesystem::current_path(ec).string();
      if (ec) workspace_error_ = "cannot read the current directory: " + ec.message();
    }
    if (workspace_error_.empty() && (w.empty() || w[0] != '/')) {
      workspace_error_ = "the workspace '" + w + "' is not an absolute path";
    }
    if (workspace_error_.empty()) {
      auto norm = NormalizePath(w);
      if (!norm.ok()) {
        workspace_error_ = "the workspace '" + w + "' is not acceptable: " + norm.error().message;
      } else if (norm.value() == "/") {
        workspace_error_ =
            "the workspace is '/', which would allow every path; give a project directory "
            "(--workspace DIR, or run from it)";
      } else {
        workspace_ = std::move(norm.value());
      }
    }
  }
  if (!workspace_) {
    Error(Mark(f), "invalid-workspace",
          Describe(f.path) + ": ${workspace} cannot be resolved: " + workspace_error_);
  }
  return workspace_;
}

std::optional<std::string> Parser::Vars(const Field& f, const std::string& s, VarQuote quote) {
  if (s.find('$') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '$' || i + 1 == s.size() || (s[i + 1] != '$' && s[i + 1] != '{')) {
      out.push_back(s[i++]);
      continue;
    }
    if (s[i + 1] == '$') {
      out.push_back('$');
      i += 2;
      continue;
    }
    const size_t close = s.find('}', i + 2);
    if (close == std::string::npos) {
      Error(Mark(f), "invalid-variable",
            Describe(f.path) + ": unterminated '${' in '" + s + "'; write $$ for a literal $");
      return std::nullopt;
    }
    const std::string name = s.substr(i + 2, close - i - 2);
    std::string value;
    if (name == "workspace") {
      auto w = Workspace(f);
      if (!w) return std::nullopt;
      value = *w;
    } else if (name.rfind("env:", 0) == 0 && ValidEnvName(std::string_view(name).substr(4))) {
      const std::string env = name.substr(4);
      std::optional<std::string> v;
      if (options_.getenv) {
        v = options_.getenv(env);
      } else if (const char* e = std::getenv(env.c_str())) {
        v = std::string(e);
      }
      if (!v) {
        Error(Mark(f), "unset-variable",
              Describe(f.path) + ": ${" + name + "}: environment variable " + env + " is not set");
        return std::nullopt;
      }
      value = std::move(*v);
    } else {
      Error(Mark(f), "unknown-variable",
            Describe(f.path) + ": unknown variable '${" + name +
                "}'; known: ${workspace}, ${env:NAME}; write $$ for a literal $");
      return std::nullopt;
    }
    if (quote == VarQuote::kRegex) {
      out += RE2::QuoteMeta(value);
    } else if (quote == VarQuote::kShell) {
      if (value.find('*') != std::string::npos) {
        Error(Mark(f), "invalid-variable",
              Describe(f.path) + ": ${" + name + "} is '" + value +
                  "', whose '*' a command pattern would read as a wildcard");
        return std::nullopt;
      }
      out += '\'';
      for (char c : value) {
        if (c == '\'') {
          out += "'\\''";
        } else {
          out += c;
        }
      }
      out += '\'';
    } else {
      out += value;
    }
    i = close + 1;
  }
  return out;
}

std::optional<boost::json::value> Parser::ConstraintScalar(const Field& f) {
  auto v = JsonScalar(f);
  if (!v || !v->is_string()) return v;
  auto s = Vars(f, std::string(v->get_string()), VarQuote::kNone);
  if (!s) return std::nullopt;
  return boost::json::value(boost::json::string(*s));
}

std::optional<std::string> Parser::ConstraintString(const Field& f, VarQuote quote) {
  auto s = String(f);
  if (!s) return std::nullopt;
  return Vars(f, *s, quote);
}

std::shared_ptr<const re2::RE2> Parser::Regex(const Field& f, bool partial) {
  auto s = ConstraintString(f, VarQuote::kRegex);
  if (!s) return nullptr;
  (void)partial;  // the engine picks FullMatch or PartialMatch
  if (auto known = regexes_.find(*s); known != regexes_.end()) return known->second;
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(*s, options);
  if (!re->ok()) {
    Error(Mark(f), "invalid-regex",
          f.path + ": invalid regular expression '" + *s + "': " + re->error());
    return nullptr;
  }
  regexes_.emplace(*s, re);
  return re;
}

// An absolute path prefix (path_prefix, shell redirect_paths), normalised.
std::optional<std::string> Parser::AbsolutePrefix(const Field& e, std::string_view what) {
  auto s = ConstraintString(e);
  if (!s) return std::nullopt;
  const std::string w(what);
  if (s->empty() || (*s)[0] != '/') {
    Error(Mark(e), "invalid-path",
          e.path + ": " + w + " '" + *s + "' must be an absolute path (start with /)");
    return std::nullopt;
  }
  bool climbs = false;
  for (size_t i = 0; i < s->size();) {
    size_t j = s->find('/', i);
    if (j == std::string::npos) j = s->size();
    if (s->compare(i, j - i, "..") == 0) climbs = true;
    i = j + 1;
  }
  if (climbs) {
    Error(Mark(e), "invalid-path",
          e.path + ": " + w + " '" + *s + "' contains a '..' segment; write the resolved path");
    return std::nullopt;
  }
  auto norm = NormalizePath(*s);
  if (!norm.ok()) {
    Error(Mark(e), "invalid-path",
          e.path + ": invalid " + w + " '" + *s + "': " + norm.error().message);
    return std::nullopt;
  }
  return std::move(norm.value());
}

std::shared_ptr<const ShellMatcher> Parser::ParseShell(const Field& f) {
  auto m = Map(f, {"allow", "deny", "allow_substitution", "allow_heredoc", "allow_expansion",
                   "allow_shell_reentry", "redirect_paths", "path_not_pattern"});
  if (!m) return nullptr;
  ShellRules r;
  bool ok = true;
  auto patterns = [&](const Field& g, std::vector<std::string>* out) {
    auto items = List(g);
    if (!items) return void(ok = false);
    for (const Field& e : *items) {
      auto s = ConstraintString(e, VarQuote::kShell);
      if (!s) {
        ok = false;
        continue;
      }
      if (auto why = ValidateShellPattern(*s)) {
        Error(Mark(e), "invalid-shell-pattern", e.path + ": '" + *s + "': " + *why);
        ok = false;
        continue;
      }
      out->push_back(std::move(*s));
    }
  };
  for (const Field& item : m->items) {
    Field g = Member(f.path, item);
    const std::string& k = item.key;
    if (k == "allow") {
      patterns(g, &r.allow);
    } else if (k == "deny") {
      patterns(g, &r.deny);
    } else if (k == "path_not_pattern") {
      r.path_not_pattern = Regex(g, true);
      if (r.path_not_pattern == nullptr) ok = false;
    } else if (k == "redirect_paths") {
      auto items = List(g);
      if (!items) {
        ok = false;
        continue;
      }
      for (const Field& e : *items) {
        if (auto p = AbsolutePrefix(e, "redirect path")) {
          r.redirect_paths.push_back(std::move(*p));
        } else {
          ok = false;
        }
      }
    } else {
      auto v = Bool(g);
      if (!v) {
        ok = false;
        continue;
      }
      if (k == "allow_substitution") r.allow_substitution = *v;
      if (k == "allow_heredoc") r.allow_heredoc = *v;
      if (k == "allow_expansion") r.allow_expansion = *v;
      if (k == "allow_shell_reentry") r.allow_shell_reentry = *v;
    }
  }
  if (ok && r.allow.empty()) {
    Error(f.key_mark, "empty-constraint",
          f.path +
              ": no allow patterns, so every command would be refused; list the allowed "
              "commands under allow, or block the tool");
    return nullptr;
  }
  if (!ok) return nullptr;
  auto w = Workspace(f);  // relative redirections resolve against it
  if (!w) return nullptr;
  r.cwd = *w;
  std::string why;
  auto matcher = CompileShellRules(r, &why);
  if (!matcher) Error(f.key_mark, "invalid-shell-pattern", f.path + ": " + why);
  return matcher;
}

std::optional<UrlRule> Parser::ParseUrlRule(const Field& f) {
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  if (*kind == Kind::kString) {
    auto s = ConstraintString(f);
    if (!s) return std::nullopt;
    std::string why;
    auto rule = ParseUrlPrefix(*s, &why);
    if (!rule) Error(Mark(f), "invalid-url", f.path + ": URL prefix '" + *s + "': " + why);
    return rule;
  }
  if (*kind != Kind::kMap) {
    WrongType(f, *kind, "a URL prefix string or a mapping (schemes, hosts, ports, path_prefixes)");
    return std::nullopt;
  }
  auto m = Map(f, {"schemes", "hosts", "ports", "path_prefixes"});
  if (!m) return std::nullopt;
  UrlRule rule;
  bool ok = true;
  for (const Field& item : m->items) {
    Field g = Member(f.path, item);
    auto items = List(g);
    if (!items) {
      ok = false;
      continue;
    }
    if (items->empty()) {
      Error(Mark(g), "empty-constraint", g.path + ": the list is empty; remove the key instead");
      ok = false;
      continue;
    }
    for (const Field& e : *items) {
      if (item.key == "ports") {
        if (auto p = Unsigned(e, 1, 65535)) {
          rule.ports.push_back(static_cast<uint16_t>(*p));
        } else {
          ok = false;
        }
        continue;
      }
      auto s = ConstraintString(e);
      if (!s) {
        ok = false;
        continue;
      }
      if (item.key == "schemes") {
        const bool valid = !s->empty() && std::islower(static_cast<unsigned char>((*s)[0])) &&
                           std::all_of(s->begin(), s->end(), [](char c) {
                             return std::islower(static_cast<unsigned char>(c)) ||
                                    std::isdigit(static_cast<unsigned char>(c)) || c == '+' ||
                                    c == '-' || c == '.';
                           });
        if (!valid) {
          Error(Mark(e), "invalid-url",
                e.path + ": scheme '" + *s + "' must be lower-case letters, e.g. https");
          ok = false;
          continue;
        }
        rule.schemes.push_back(std::move(*s));
      } else if (item.key == "hosts") {
        if (auto why = ValidateHostPattern(*s)) {
          Error(Mark(e), "invalid-host", e.path + ": host '" + *s + "': " + *why);
          ok = false;
          continue;
        }
        rule.hosts.push_back(std::move(*s));
      } else {  // path_prefixes
        if (s->empty() || (*s)[0] != '/') {
          Error(Mark(e), "invalid-url", e.path + ": path prefix '" + *s + "' must start with /");
          ok = false;
          continue;
        }
        rule.path_prefixes.push_back(std::move(*s));
      }
    }
  }
  if (!ok) return std::nullopt;
  // Path prefixes are refused here when they cannot be normalised (encoded dots or
  // slashes): CompileUrlRules has no way to report it and would drop the rule.
  if (auto why = ValidateUrlRule(rule)) {
    Error(Mark(f), "invalid-url", f.path + ": " + *why);
    return std::nullopt;
  }
  return rule;
}

std::shared_ptr<const UrlMatcher> Parser::ParseUrl(const Field& f) {
  auto m = Map(f, {"allow"});
  if (!m) return nullptr;
  UrlRules rules;
  const Field* allow = m->Get("allow");
  if (allow == nullptr) {
    Error(f.key_mark, "missing-key", f.path + ": missing required key 'allow'");
    return nullptr;
  }
  Field g = *allow;
  g.path = f.path + ".allow";
  auto items = List(g);
  if (!items) return nullptr;
  const bool ok = ParseEach(
      *items, [this](const Field& e) { return ParseUrlRule(e); }, &rules.allow);
  if (ok && rules.allow.empty()) {
    Error(Mark(g), "empty-constraint",
          g.path + ": the list is empty, so every URL would be refused; block the tool instead");
    return nullptr;
  }
  if (!ok) return nullptr;
  return CompileUrlRules(rules);
}

std::optional<ArgConstraint> Parser::ParseArgument(const Field& f, const std::string& rule_id,
                                                   const ParsedArgPath& path) {
  auto m =
      Map(f, {"one_of", "not_one_of", "min", "max", "max_length", "max_bytes", "min_items",
              "max_items", "pattern", "not_pattern", "path_prefix", "shell", "url", "optional"});
  if (!m) return std::nullopt;
  ArgConstraint c;
  c.argument = path.argument;
  c.steps = path.steps;
  if (!c.steps.empty()) c.path = path.normalised;
  c.rule = rule_id;
  c.at = Loc(f.key_mark);
  bool has_check = false;
  for (const Field& item : m->items) {
    Field g = Member(rule_id, item);
    const std::string& k = item.key;
    if (k == "optional") {
      if (auto v = Bool(g)) c.optional = *v;
      continue;
    }
    has_check = true;
    if (k == "one_of" || k == "not_one_of") {
      auto items = List(g);
      if (!items) continue;
      auto* values = k == "one_of" ? &c.one_of : &c.not_one_of;
      for (const Field& e : *items) {
        if (auto v = ConstraintScalar(e)) values->push_back(std::move(*v));
      }
      if (items->empty()) {
        Error(Mark(g), "empty-constraint",
              g.path + (k == "one_of" ? ": the list is empty, so every call would be refused"
                                      : ": the list is empty, so it refuses nothing"));
      }
    } else if (k == "min") {
      c.min = Number(g);
    } else if (k == "max") {
      c.max = Number(g);
    } else if (k == "max_length") {
      c.max_length = Unsigned(g, 0);
    } else if (k == "max_bytes") {
      c.max_bytes = Unsigned(g, 0);
    } else if (k == "min_items") {
      c.min_items = Unsigned(g, 0);
    } else if (k == "max_items") {
      c.max_items = Unsigned(g, 0);
    } else if (k == "pattern") {
      c.pattern = Regex(g, false);
    } else if (k == "not_pattern") {
      c.not_pattern = Regex(g, true);
    } else if (k == "shell") {
      c.shell = ParseShell(g);
    } else if (k == "url") {
      c.url = ParseUrl(g);
    } else if (k == "path_prefix") {
      std::vector<Field> prefixes;
      auto kind = KindOf(g);
      if (!kind) continue;
      if (*kind == Kind::kList) {
        auto items = List(g);
        if (!items) continue;
        prefixes = std::move(*items);
        if (prefixes.empty()) {
          Error(Mark(g), "empty-constraint", g.path + ": the list is empty");
        }
      } else {
        prefixes.push_back(g);
      }
      for (const Field& e : prefixes) {
        if (auto p = AbsolutePrefix(e, "path_prefix")) c.path_prefixes.push_back(std::move(*p));
      }
    }
  }
  if (!has_check) {
    Error(f.key_mark, "empty-constraint",
          rule_id +
              ": no checks; add one_of, not_one_of, min, max, max_length, max_bytes, "
              "min_items, max_items, pattern, not_pattern, path_prefix, shell or url");
    return std::nullopt;
  }
  if (c.min && c.max && *c.min > *c.max) {
    Error(f.key_mark, "invalid-value", rule_id + ": min is greater than max");
  }
  if (c.min_items && c.max_items && *c.min_items > *c.max_items) {
    Error(f.key_mark, "invalid-value", rule_id + ": min_items is greater than max_items");
  }
  // Returned even with errors, so the check across rules (an argument constrained
  // twice) reports on it too; the errors already fail the policy.
  return c;
}

void Parser::ParseCombinations(const Field& f, const std::string& base, ToolRule* rule) {
  auto items = List(f);
  if (!items) return;
  if (items->empty()) {
    Error(Mark(f), "empty-constraint", f.path + ": the list is empty; remove the key instead");
    return;
  }
  for (size_t n = 0; n < items->size(); ++n) {
    const Field& item = (*items)[n];
    const std::string rule_id = base + ".combinations[" + std::to_string(n) + "]";
    Field entry = item;
    entry.path = rule_id;
    auto m = Map(entry, {"arguments", "one_of"});
    if (!m) continue;
    ArgCombination k;
    k.rule = rule_id;
    k.at = Loc(item.key_mark);
    bool ok = true;
    for (const char* key : {"arguments", "one_of"}) {
      if (m->Get(key) == nullptr) {
        Error(item.key_mark, "missing-key", rule_id + ": missing required key '" + key + "'");
        ok = false;
      }
    }
    if (!ok) continue;
    Field args = *m->Get("arguments");
    args.path = rule_id + ".arguments";
    auto names = List(args);
    if (!names) continue;
    if (names->size() < 2 || names->size() > kMaxCombinationArguments) {
      Error(Mark(args), "invalid-value",
            args.path + ": list 2 to " + std::to_string(kMaxCombinationArguments) +
                " arguments (one argument: use one_of on it)");
      continue;
    }
    std::set<std::string> seen;
    for (const Field& e : *names) {
      auto name = Name(e);
      if (!name) {
        ok = false;
        continue;
      }
      std::string why;
      auto path = ParseArgPath(*name, &why);
      if (!path) {
        Error(Mark(e), "invalid-argument-path", e.path + ": " + why);
        ok = false;
        continue;
      }
      if (std::any_of(path->steps.begin(), path->steps.end(),
                      [](const ArgPathStep& s) { return s.kind == ArgPathStep::Kind::kEach; })) {
        Error(Mark(e), "invalid-argument-path",
              e.path + ": '" + *name + "' has [*]; a combination takes one value per argument");
        ok = false;
        continue;
      }
      if (!seen.insert(path->normalised).second) {
        Error(Mark(e), "ambiguous-constraint",
              e.path + ": argument " + path->normalised + " is listed twice in the combination");
        ok = false;
        continue;
      }
      ArgConstraint a;
      a.argument = path->argument;
      a.steps = path->steps;
      if (!a.steps.empty()) a.path = path->normalised;
      k.arguments.push_back(std::move(a));
    }
    Field tuples = *m->Get("one_of");
    tuples.path = rule_id + ".one_of";
    auto rows = List(tuples);
    if (!rows) continue;
    if (rows->empty()) {
      Error(Mark(tuples), "empty-constraint",
            tuples.path + ": the list is empty, so every call would be refused");
      continue;
    }
    for (const Field& row : *rows) {
      auto values = List(row);
      if (!values) {
        ok = false;
        continue;
      }
      if (values->size() != names->size()) {
        Error(Mark(row), "invalid-value",
              row.path + ": has " + std::to_string(values->size()) + " values for " +
                  std::to_string(names->size()) + " arguments");
        ok = false;
        continue;
      }
      std::vector<boost::json::value> tuple;
      for (const Field& e : *values) {
        if (auto v = ConstraintScalar(e)) {
          tuple.push_back(std::move(*v));
        } else {
          ok = false;
        }
      }
      k.one_of.push_back(std::move(tuple));
    }
    if (ok) rule->combinations.push_back(std::move(k));
  }
}

}  // namespace interlock::policy::loader_internal
