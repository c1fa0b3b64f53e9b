#include "cli/token_issue.h"

#include <utility>

#include "cli/cli_util.h"
#include "cli/local_store.h"
#include "common/principal_name.h"
#include "common/time.h"
#include "core/workspace.h"
#include "policy/loader.h"
#include "store/open_store.h"

namespace interlock::cli {

Result<std::unique_ptr<core::Store>> OpenTokenStore(const TokenStoreOptions& options,
                                                    std::string_view who) {
  // A new deployment creates its first token before the daemon has ever started (and the
  // audit keys with it). A token is never handed out without its anchor. The store's
  // place first: the keys live beside it.
  if (Status place = PrepareStorePlace(options.store, options.create, who); !place.ok()) {
    return place.error();
  }
  auto signer = LoadStoreSigner(options.store, options.keys_dir, options.checkpoints);
  if (!signer.ok()) return signer.error();
  // Created when missing, with the default lock wait (not an operator command's 30 s).
  return store::OpenStore(store::OperatorStoreOptions(options.store, std::move(signer).value(),
                                                      store::OperatorWrite::kToken));
}

Status CheckAgentDefined(const std::vector<std::string>& policies, const std::string& agent_id) {
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet(policies, &diags);
  if (!set.ok()) {
    return Error::Invalid("the policies are invalid (run `interlock check`):\n" +
                          set.error().message);
  }
  if ((*set)->Find(agent_id) == nullptr) {
    return Error::Invalid("no policy defines agent \"" + agent_id +
                          "\"; check the id, or pass --force to create the token anyway");
  }
  return {};
}

Status CheckTokenRequest(const TokenRequest& request) {
  const char* what = request.role == core::Role::kAgent      ? "agent id"
                     : request.role == core::Role::kReviewer ? "reviewer name"
                                                             : "admin name";
  if (Result<std::string> ok = ValidatePrincipalName(request.name, what); !ok.ok()) {
    return ok.error();
  }
  if (Status roots = core::CheckTokenWorkspaceRoots(request.role, request.workspace_roots);
      !roots.ok()) {
    return Error::Invalid("\"" + request.name + "\": workspace roots: " + roots.error().message);
  }
  return {};
}

Result<std::string> CreateToken(core::Store& store, const TokenRequest& request) {
  if (Status ok = CheckTokenRequest(request); !ok.ok()) return ok.error();
  return store.CreateToken(request.role, request.name,
                           request.role == core::Role::kAgent ? request.agent_id : "",
                           SystemClock().Now(), request.workspace_roots);
}

}  // namespace interlock::cli
