// `interlock check PATH...`: validate policy files and directories.
#include <iostream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "policy/loader.h"

namespace interlock::cli {
namespace {

using policy::Diagnostic;

struct CheckOptions {
  std::vector<std::string> paths;
  bool strict = false;
  std::string format = "text";
};

const char* SeverityName(Diagnostic::Severity s) {
  switch (s) {
    case Diagnostic::Severity::kError:
      return "error";
    case Diagnostic::Severity::kWarning:
      return "warning";
    case Diagnostic::Severity::kInfo:
      return "info";
  }
  return "error";
}

int RunCheck(const CheckOptions& opt) {
  std::vector<Diagnostic> diags;
  Result<std::shared_ptr<const policy::PolicySet>> set = policy::LoadPolicySet(opt.paths, &diags);
  if (set.ok()) {
    for (const auto& [id, agent] : (*set)->agents) {
      for (Diagnostic& d : policy::Lint(*agent)) diags.push_back(std::move(d));
    }
  }
  if (opt.strict) {
    for (Diagnostic& d : diags) {
      if (d.severity == Diagnostic::Severity::kWarning) d.severity = Diagnostic::Severity::kError;
    }
  }
  int errors = 0, warnings = 0;
  for (const Diagnostic& d : diags) {
    if (d.severity == Diagnostic::Severity::kError) ++errors;
    if (d.severity == Diagnostic::Severity::kWarning) ++warnings;
  }
  // A loader failure with no diagnostic still counts (e.g. unreadable path).
  if (!set.ok() && errors == 0) {
    Diagnostic d;
    d.severity = Diagnostic::Severity::kError;
    d.id = "load-failed";
    d.message = set.error().message;
    diags.push_back(d);
    ++errors;
  }
  const bool ok = errors == 0;

  if (opt.format == "json") {
    boost::json::object out;
    out["ok"] = ok;
    out["errors"] = errors;
    out["warnings"] = warnings;
    boost::json::array policies;
    if (set.ok()) {
      for (const auto& [id, agent] : (*set)->agents) {
        policies.push_back({{"id", id},
                            {"file", agent->file},
                            {"sha256", agent->sha256},
                            {"mode", policy::ModeName(agent->mode)}});
      }
    }
    out["policies"] = std::move(policies);
    boost::json::array ds;
    for (const Diagnostic& d : diags) {
      ds.push_back({{"severity", SeverityName(d.severity)},
                    {"file", d.at.file},
                    {"line", d.at.line},
                    {"column", d.at.column},
                    {"id", d.id},
                    {"message", d.message}});
    }
    out["diagnostics"] = std::move(ds);
    WriteJsonLine(std::cout, out);
  } else {
    for (const Diagnostic& d : diags) std::cerr << d.ToString() << '\n';
    if (set.ok()) {
      std::cout << (ok ? "ok: " : "failed: ") << (*set)->agents.size() << " polic"
                << ((*set)->agents.size() == 1 ? "y" : "ies") << " (";
      bool first = true;
      for (const auto& [id, agent] : (*set)->agents) {
        std::cout << (first ? "" : ", ") << id;
        first = false;
      }
      std::cout << "), " << errors << " error(s), " << warnings << " warning(s)\n";
    } else {
      std::cout << "failed: " << errors << " error(s), " << warnings << " warning(s)\n";
    }
  }
  return ok ? kExitOk : kExitFailure;
}

void AddCheck(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Validate policy files or directories. Errors carry file:line:column; warnings list "
      "the pre-production checklist items a policy shows. Exit 0 when valid, 1 when not.");
  cmd->add_option("paths", opt->paths, "Policy files or directories of *.yaml")->required();
  cmd->add_flag("--strict", opt->strict, "Treat warnings as errors");
  cmd->add_option("--format", opt->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([opt, exit_code] { *exit_code = RunCheck(*opt); });
}

const CommandRegistration kRegistration("check", &AddCheck);

}  // namespace
}  // namespace interlock::cli
