#include "core/app/standalone.h"

#include <filesystem>
#include <ostream>
#include <utility>

#include "audit/keys.h"
#include "audit/redact.h"
#include "core/redacted_values.h"
#include "policy/loader.h"

namespace interlock::core {

Result<std::string> WorkspaceDir(std::string_view dir) {
  namespace fs = std::filesystem;
  fs::path p(dir);
  if (!p.is_absolute()) {
    std::error_code ec;
    const fs::path cwd = fs::current_path(ec);
    if (ec) return Error::Unavailable("cannot read the current directory: " + ec.message());
    p = cwd / p;
  }
  std::string out = p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

int WarnShadowMode(const policy::PolicySet& set, std::string_view agent_id, std::ostream& err) {
  int lines = 0;
  for (const auto& [id, p] : set.agents) {
    if (p->mode != policy::Mode::kShadow || (!agent_id.empty() && id != agent_id)) continue;
    err << policy::ShadowWarning(*p) << '\n';
    ++lines;
  }
  err.flush();
  return lines;
}

Result<std::shared_ptr<const policy::PolicySet>> LoadPolicyFile(const std::string& path,
                                                                std::string workspace,
                                                                std::string* workspace_problem) {
  policy::LoadOptions load;
  load.workspace = std::move(workspace);
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet({path}, &diags, load);
  if (!set.ok() && workspace_problem != nullptr) {
    for (const policy::Diagnostic& d : diags) {
      if (d.id != "invalid-workspace") continue;
      *workspace_problem = d.ToString();
      break;
    }
  }
  return set;
}

std::vector<std::string> RedactFieldsOf(const policy::PolicySet& set, std::string_view agent_id,
                                        std::string_view tool) {
  if (const policy::AgentPolicy* agent = set.Find(agent_id); agent != nullptr) {
    if (const policy::ToolRule* rule = agent->Resolve(tool).rule) return rule->redact;
  }
  return {};
}

Result<StoreRedaction> StoreRedaction::ForStore(const std::string& store_path) {
  auto key = audit::LoadOrCreateHmacKey(audit::DefaultKeysDir(store_path));
  if (!key.ok()) return key.error();
  return StoreRedaction(std::move(*key));
}

boost::json::object StoreRedaction::RecordedArgs(const boost::json::object& args,
                                                 const std::vector<std::string>& fields) const {
  return audit::Redactor(key_).RedactArgs(args, fields);
}

void StoreRedaction::MaskSecrets(boost::json::value* v, const std::vector<std::string>& secrets) {
  audit::Redactor::MaskSecretsInJson(v, secrets);
}

boost::json::object StoreRedaction::PickRedacted(const boost::json::object& args,
                                                 const std::vector<std::string>& fields) {
  return RedactedValues::Pick(args, fields);
}

}  // namespace interlock::core
