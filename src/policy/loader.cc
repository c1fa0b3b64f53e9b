// YAML -> AgentPolicy. The text is read by the strict reader (policy/yaml_reader.h: one
// document, no key twice in a mapping); every yaml-cpp exception is caught here and
// turned into a located diagnostic.
//
// yaml-cpp 0.7 resolves nothing for us that we trust: it accepts "yes" as a bool. So
// scalars are resolved here by the YAML 1.2 core schema (plain scalars) or as strings
// (quoted scalars, tag "!"), and every mapping is walked entry by entry to catch unknown
// keys.

#include "policy/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/serialize.hpp>

#include "common/crypto.h"
#include "common/drill_agent.h"
#include "common/path.h"
#include "common/time.h"
#include "policy/loader_internal.h"
#include "policy/yaml_reader.h"

namespace interlock::policy {

std::string Diagnostic::ToString() const {
  const char* sev = severity == Severity::kError     ? "error"
                    : severity == Severity::kWarning ? "warning"
                                                     : "info";
  std::string where = at.ToString();
  std::string out = where.empty() ? std::string() : where + ": ";
  out += sev;
  out += ": ";
  out += message;
  out += " [" + id + "]";
  return out;
}

void AppendArgPathField(std::string* out, std::string_view field, bool first) {
  const bool plain = !field.empty() && std::none_of(field.begin(), field.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '.' || c == '[' || c == ']' || c == '*' || c == '"' ||
           c == '\'' || c == ' ';
  });
  if (plain) {
    if (!first) out->push_back('.');
    out->append(field);
    return;
  }
  out->push_back('[');
  out->append(boost::json::serialize(boost::json::string_view(field.data(), field.size())));
  out->push_back(']');
}

namespace loader_internal {

std::shared_ptr<AgentPolicy> Parser::Parse(std::string_view text) {
  auto p = std::make_shared<AgentPolicy>();
  if (text.size() > kMaxPolicyBytes) {
    Error(YAML::Mark::null_mark(), "file-too-large",
          "policy file is " + std::to_string(text.size()) + " bytes; the limit is " +
              std::to_string(kMaxPolicyBytes));
    return p;
  }
  YamlDocument doc = ReadYaml(text);
  for (const YamlProblem& problem : doc.problems) {
    static constexpr const char* kIds[] = {"yaml-syntax", "multiple-documents", "duplicate-key"};
    std::string message = problem.message;
    if (problem.kind == YamlProblem::Kind::kMultipleDocuments) {
      message += "; put one agent policy per file";
    }
    ++errors_;
    out_->push_back({Diagnostic::Severity::kError,
                     {file_, problem.line, problem.column},
                     kIds[static_cast<int>(problem.kind)],
                     std::move(message)});
  }
  if (!doc.problems.empty()) return p;
  const YAML::Node& root = doc.root;
  if (doc.documents == 0 || root.IsNull()) {
    Error(doc.documents == 0 ? YAML::Mark() : root.Mark(), "empty-policy",
          "the policy file is empty; it needs at least agent.id and tools");
    return p;
  }
  try {
    Field rootf{"", "", root.Mark(), root};
    auto top = Map(rootf, {"agent", "tools", "execution", "escalation", "freeze", "trust",
                           "workflow", "flows", "quotas", "egress", "workspace_roots"});
    if (!top) return p;
    std::optional<Field> nested_tools, nested_execution;
    if (const Field* agent = top->Get("agent")) {
      ParseAgent(*agent, p.get(), &nested_tools, &nested_execution);
    } else {
      Error(root.Mark(), "missing-key", "missing required key 'agent' (with agent.id)");
    }
    const Field* tools = top->Get("tools");
    if (tools && nested_tools) {
      Error(nested_tools->key_mark, "conflicting-layout",
            "'tools' is written both at the top level (line " +
                std::to_string(tools->key_mark.line + 1) + ") and under 'agent'; keep only one");
    } else if (tools || nested_tools) {
      ParseTools(tools ? *tools : *nested_tools, p.get());
    } else {
      Error(root.Mark(), "missing-key",
            "missing required key 'tools' (tools.allowed and tools.blocked)");
    }
    const Field* execution = top->Get("execution");
    if (execution && nested_execution) {
      Error(nested_execution->key_mark, "conflicting-layout",
            "'execution' is written both at the top level (line " +
                std::to_string(execution->key_mark.line + 1) +
                ") and under 'agent'; keep only one");
    } else if (execution || nested_execution) {
      ParseExecution(execution ? *execution : *nested_execution, &p->execution);
    }
    if (const Field* f = top->Get("escalation")) ParseEscalation(*f, p.get());
    if (const Field* f = top->Get("freeze")) ParseFreezes(*f, p.get());
    if (const Field* f = top->Get("trust")) ParseTrust(*f, p.get());
    if (const Field* f = top->Get("quotas")) ParseQuotas(*f, p.get());
    if (const Field* f = top->Get("flows")) ParseFlows(*f, p.get());
    if (const Field* f = top->Get("workflow")) ParseWorkflow(*f, p.get());
    if (const Field* f = top->Get("egress")) ParseEgress(*f, p.get());
    if (const Field* f = top->Get("workspace_roots")) ParseWorkspaceRoots(*f, p.get());
  } catch (const YAML::Exception& e) {
    Error(e.mark, "yaml-syntax", "invalid YAML: " + e.msg);
  }
  return p;
}

void Parser::ParseAgent(const Field& f, AgentPolicy* p, std::optional<Field>* tools,
                        std::optional<Field>* execution) {
  p->at = Loc(f.key_mark);
  auto m = Map(f, {"id", "identity", "mode", "autonomy", "tools", "execution"});
  if (!m) return;
  if (const Field* id = m->Get("id")) {
    p->id_at = Loc(id->key_mark);
    if (auto s = String(*id)) {
      if (!ValidAgentId(*s)) {
        Error(Mark(*id), "invalid-value",
              "agent.id '" + *s + "' must be 1 to " + std::to_string(kMaxAgentIdLength) +
                  " characters of A-Z a-z 0-9 . _ -, or a role's id: <agent>/<role>");
      } else if (*s == kDrillAgentId || s->starts_with(std::string(kDrillAgentId) + "/")) {
        Error(Mark(*id), "invalid-value",
              "agent.id '" + *s +
                  "' is reserved: Interlock's kill-switch drills use it (docs/drill.md)");
      } else {
        p->id = *s;
      }
    }
  } else {
    Error(f.key_mark, "missing-key", "missing required key agent.id");
  }
  if (const Field* identity = m->Get("identity")) {
    p->identity_at = Loc(identity->key_mark);
    if (auto s = String(*identity)) {
      if (HasControl(*s)) {
        Error(Mark(*identity), "invalid-value",
              "agent.identity must not contain control characters");
      } else {
        p->identity = *s;
      }
    }
  }
  if (const Field* mode = m->Get("mode")) {
    if (auto v = Enum(*mode, {"enforce", "shadow"}, {Mode::kEnforce, Mode::kShadow})) {
      p->mode = *v;
      p->mode_at = Loc(mode->key_mark);
    }
  }
  if (const Field* a = m->Get("autonomy")) {
    if (auto v = Enum(*a, {"gate_all", "exception_based", "audit_based"},
                      {Autonomy::kGateAll, Autonomy::kExceptionBased, Autonomy::kAuditBased})) {
      p->autonomy = *v;
    }
  }
  // The seed flattens tools/execution under agent; accept it with canonical paths.
  if (const Field* t = m->Get("tools")) *tools = Field{t->key, "tools", t->key_mark, t->value};
  if (const Field* e = m->Get("execution")) {
    *execution = Field{e->key, "execution", e->key_mark, e->value};
  }
}

void Parser::ParseExecution(const Field& f, Execution* e) {
  e->at = Loc(f.key_mark);
  auto m = Map(f, {"max_steps", "max_tokens_per_run", "max_wall_clock_seconds", "max_cost_usd",
                   "on_budget_exceeded"});
  if (!m) return;
  for (const Field& item : m->items) {
    Field g = Member("execution", item);
    const std::string& k = item.key;
    if (k == "max_steps") {
      e->max_steps = Unsigned(g, 0);
    } else if (k == "max_tokens_per_run") {
      e->max_tokens_per_run = Unsigned(g, 0);
    } else if (k == "max_wall_clock_seconds") {
      e->max_wall_clock_ms = Fixed(g, 3, kMaxWallClockMs);
    } else if (k == "max_cost_usd") {
      e->max_cost_micros = Fixed(g, 6, kMaxCostMicros);
    } else if (k == "on_budget_exceeded") {
      auto ob = Map(g, {"action", "notify"});
      if (!ob) continue;
      for (const Field& o : ob->items) {
        Field h = Member(g.path, o);
        if (o.key == "action") {
          if (auto v = Enum(
                  h, {"deny", "halt", "halt_and_escalate"},
                  {BudgetAction::kDeny, BudgetAction::kHalt, BudgetAction::kHaltAndEscalate})) {
            e->on_budget_exceeded = *v;
          }
        } else if (auto v = Name(h)) {
          e->notify = std::move(*v);
        }
      }
    }
  }
}

void Parser::ParseEscalation(const Field& f, AgentPolicy* p) {
  auto m = Map(f, {"contacts"});
  if (!m) return;
  if (const Field* c = m->Get("contacts")) {
    if (auto v = NameList(*c)) p->escalation_contacts = std::move(*v);
  }
}

void Parser::ParseWorkspaceRoots(const Field& f, AgentPolicy* p) {
  p->workspace_roots_at = Loc(f.key_mark);
  auto items = List(f);
  if (!items) return;
  constexpr size_t kMaxRoots = 256;
  if (items->size() > kMaxRoots) {
    Error(Mark(f), "invalid-value",
          "workspace_roots names more than " + std::to_string(kMaxRoots) + " roots");
    return;
  }
  for (const Field& e : *items) {
    auto s = Name(e);
    if (!s) continue;
    if (Status ok = CheckWorkspaceRoot(*s); !ok.ok()) {
      Error(Mark(e), "invalid-value", "workspace_roots: " + ok.error().message);
    } else {
      p->workspace_roots.push_back(std::move(*s));
    }
  }
}

void Parser::ParseFreezes(const Field& f, AgentPolicy* p) {
  auto items = List(f);
  if (!items) return;
  std::map<std::string, int> names;
  for (const Field& item : *items) {
    auto m = Map(item, {"name", "start", "end", "tools", "reason"});
    if (!m) continue;
    FreezeWindow w;
    w.at = Loc(item.key_mark);
    const int before = errors_;
    const Field* name = m->Get("name");
    if (!name) {
      Error(item.key_mark, "missing-key", item.path + ": missing required key 'name'");
    } else if (auto v = Name(*name)) {
      w.name = *v;
      if (auto [it, inserted] = names.emplace(w.name, w.at.line); !inserted) {
        Error(item.key_mark, "duplicate-key",
              "freeze window " + Quote(w.name) + " is defined twice (first at line " +
                  std::to_string(it->second) + ")");
      }
    }
    std::optional<TimePoint> start, end;
    for (const char* key : {"start", "end"}) {
      const Field* t = m->Get(key);
      if (!t) {
        Error(item.key_mark, "missing-key", item.path + ": missing required key '" + key + "'");
        continue;
      }
      auto s = String(*t);
      if (!s) continue;
      auto tp = ParseRfc3339(*s);
      if (!tp.ok()) {
        Error(Mark(*t), "invalid-time", t->path + ": " + tp.error().message);
        continue;
      }
      (std::string_view(key) == "start" ? start : end) = tp.value();
    }
    if (start && end && *start >= *end) {
      Error(m->Get("end")->key_mark, "invalid-time", item.path + ": start must be before end");
    }
    if (const Field* t = m->Get("tools")) {
      if (auto v = NameList(*t)) {
        if (v->empty()) {
          Error(Mark(*t), "invalid-value",
                t->path + ": the list is empty; list tool names or \"*\" for every tool");
        }
        w.tools = std::move(*v);
      }
    } else {
      w.tools = {"*"};
    }
    if (const Field* r = m->Get("reason")) {
      if (auto v = String(*r)) w.reason = std::move(*v);
    }
    if (errors_ != before) continue;
    w.start = *start;
    w.end = *end;
    p->freezes.push_back(std::move(w));
  }
}

void Parser::ParseTrust(const Field& f, AgentPolicy* p) {
  auto m = Map(f, {"graduation_threshold"});
  if (!m) return;
  if (const Field* g = m->Get("graduation_threshold")) {
    if (auto v = Unsigned(*g, 1)) p->trust_threshold = *v;
  }
}

}  // namespace loader_internal

namespace {

using loader_internal::kMaxPolicyBytes;
using loader_internal::Parser;

std::string JoinErrors(const std::vector<Diagnostic>& diags) {
  std::string out;
  for (const Diagnostic& d : diags) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    if (!out.empty()) out += '\n';
    out += d.ToString();
  }
  return out;
}

void FileError(std::vector<Diagnostic>* out, Location at, std::string id, std::string message) {
  out->push_back({Diagnostic::Severity::kError, std::move(at), std::move(id), std::move(message)});
}

bool ReadFile(const std::string& path, std::string* out, std::string* why) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxPolicyBytes) {
    *why = "policy file is " + std::to_string(size) + " bytes; the limit is " +
           std::to_string(kMaxPolicyBytes);
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot open policy file";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    *why = "cannot read policy file";
    return false;
  }
  *out = std::move(ss).str();
  return true;
}

}  // namespace

Result<std::shared_ptr<const AgentPolicy>> ParseAgentPolicy(std::string_view text,
                                                            std::string_view file,
                                                            std::vector<Diagnostic>* diagnostics,
                                                            const LoadOptions& options) {
  std::vector<Diagnostic> local;
  Parser parser(file, &local, options);
  std::shared_ptr<AgentPolicy> policy = parser.Parse(text);
  // Report in reading order, whatever order the sections were checked in.
  std::stable_sort(local.begin(), local.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.at.line, a.at.column) < std::pair(b.at.line, b.at.column);
  });
  if (parser.errors() > 0) {
    std::string message = JoinErrors(local);
    if (diagnostics) {
      diagnostics->insert(diagnostics->end(), std::make_move_iterator(local.begin()),
                          std::make_move_iterator(local.end()));
    }
    return Error::Invalid(std::move(message));
  }
  policy->file = std::string(file);
  policy->sha256 = Sha256Hex(text);
  if (parser.used_workspace()) {
    policy->workspace_source = std::make_shared<const AgentPolicy::Source>(
        AgentPolicy::Source{std::string(text), options.getenv});
  }
  // Lint() is not run here: callers (interlock check) run it once per loaded agent.
  if (diagnostics) {
    diagnostics->insert(diagnostics->end(), std::make_move_iterator(local.begin()),
                        std::make_move_iterator(local.end()));
  }
  return std::shared_ptr<const AgentPolicy>(std::move(policy));
}

namespace {

// The suffixes of each companion kind (CompanionOf), the first the one FindCompanionFiles
// looks for first beside a policy file.
constexpr std::string_view kTestSuffixes[] = {".test.yaml", ".test.yml"};
constexpr std::string_view kPropsSuffixes[] = {".props.yaml", ".props.yml"};

std::span<const std::string_view> CompanionSuffixes(Companion kind) {
  return kind == Companion::kTests ? std::span<const std::string_view>(kTestSuffixes)
                                   : std::span<const std::string_view>(kPropsSuffixes);
}

}  // namespace

std::optional<Companion> CompanionOf(std::string_view file_name) {
  for (Companion kind : {Companion::kTests, Companion::kProperties}) {
    for (std::string_view suffix : CompanionSuffixes(kind)) {
      if (file_name.size() > suffix.size() && file_name.ends_with(suffix)) return kind;
    }
  }
  return std::nullopt;
}

std::vector<std::string> FindCompanionFiles(const std::string& policy_path, Companion kind) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::is_directory(policy_path, ec)) {
    for (fs::directory_iterator it(policy_path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      std::error_code fec;
      if (CompanionOf(name) == kind && fs::is_regular_file(it->status(fec)) && !fec)
        out.push_back((fs::path(policy_path) / name).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  const fs::path p(policy_path);
  if (CompanionOf(p.filename().string())) return out;  // a companion has none of its own
  for (std::string_view suffix : CompanionSuffixes(kind)) {
    const fs::path beside = p.parent_path() / (p.stem().string() + std::string(suffix));
    if (fs::is_regular_file(beside, ec)) {
      out.push_back(beside.string());
      break;
    }
  }
  return out;
}

Result<std::shared_ptr<const PolicySet>> LoadPolicySet(const std::vector<std::string>& paths,
                                                       std::vector<Diagnostic>* diagnostics,
                                                       const LoadOptions& options) {
  namespace fs = std::filesystem;
  std::vector<Diagnostic> local;
  std::vector<std::string> files;
  if (paths.empty())
    FileError(&local, {}, "no-policy-files", "no policy files or directories given");
  for (const std::string& path : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      FileError(&local, {path, 0, 0}, "io-error", "no such file or directory");
      continue;
    }
    if (!fs::is_directory(st)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    fs::directory_iterator it(path, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string ext = it->path().extension().string();
      if (ext != ".yaml" && ext != ".yml") continue;
      if (CompanionOf(it->path().filename().string())) continue;  // tests, properties
      std::error_code fec;
      if (!fs::is_regular_file(it->status(fec)) || fec) continue;
      found.push_back((fs::path(path) / it->path().filename()).string());
    }
    if (ec) {
      FileError(&local, {path, 0, 0}, "io-error", "cannot list directory: " + ec.message());
      continue;
    }
    if (found.empty()) {
      FileError(&local, {path, 0, 0}, "no-policy-files",
                "directory holds no *.yaml or *.yml policy files");
      continue;
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  // A file named twice (a directory and one of its files) is loaded once.
  std::set<std::string> seen_files;
  auto set = std::make_shared<PolicySet>();
  std::map<std::string, const AgentPolicy*> identities;
  for (const std::string& file : files) {
    std::error_code ec;
    std::string canonical = fs::weakly_canonical(file, ec).string();
    if (ec) canonical = file;
    if (!seen_files.insert(canonical).second) continue;
    std::string text, why;
    if (!ReadFile(file, &text, &why)) {
      FileError(&local, {file, 0, 0}, "io-error", why);
      continue;
    }
    auto parsed = ParseAgentPolicy(text, file, &local, options);
    if (!parsed.ok()) continue;
    std::shared_ptr<const AgentPolicy> policy = std::move(parsed.value());
    if (auto it = set->agents.find(policy->id); it != set->agents.end()) {
      FileError(&local, policy->id_at, "duplicate-agent-id",
                "agent.id '" + policy->id + "' is already defined at " +
                    it->second->id_at.ToString() + "; every agent needs its own id");
      continue;
    }
    if (!policy->identity.empty()) {
      if (auto it = identities.find(policy->identity); it != identities.end()) {
        FileError(&local, policy->identity_at, "duplicate-identity",
                  "agent.identity '" + policy->identity + "' is already used by agent '" +
                      it->second->id + "' at " + it->second->identity_at.ToString() +
                      "; give each agent its own service account");
        continue;
      }
      identities.emplace(policy->identity, policy.get());
    }
    set->agents.emplace(policy->id, std::move(policy));
  }
  const bool failed = std::any_of(local.begin(), local.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
  std::string message = failed ? JoinErrors(local) : std::string();
  if (diagnostics) {
    diagnostics->insert(diagnostics->end(), std::make_move_iterator(local.begin()),
                        std::make_move_iterator(local.end()));
  }
  if (failed) return Error::Invalid(std::move(message));
  std::string record;
  for (const auto& [id, agent] : set->agents) {
    record += id;
    record += '\0';
    record += agent->sha256;
    record += '\n';
  }
  set->sha256 = Sha256Hex(record);
  return std::shared_ptr<const PolicySet>(std::move(set));
}

Result<std::shared_ptr<const AgentPolicy>> CompileForWorkspace(const AgentPolicy& base,
                                                               std::string_view workspace) {
  if (base.workspace_source == nullptr) {
    return Error::Invalid("the policy of agent " + base.id + " does not use ${workspace}");
  }
  LoadOptions options{std::string(workspace), base.workspace_source->getenv};
  auto compiled = ParseAgentPolicy(base.workspace_source->text, base.file, nullptr, options);
  if (!compiled.ok()) return compiled.error();
  if ((*compiled)->id != base.id) return Error::Internal("the policy changed its agent id");
  return compiled;
}

}  // namespace interlock::policy
