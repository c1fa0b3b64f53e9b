// Token creation shared by `interlock token create` and `interlock claude-code setup`: one
// path from the flags to core::Store::CreateToken, so every token is validated, checked
// against the policies and anchored the same way (docs/audit.md, "Anchors").
// Thread-safety: plain functions; the store is the caller's.
#ifndef INTERLOCK_CLI_TOKEN_ISSUE_H_
#define INTERLOCK_CLI_TOKEN_ISSUE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/ports/store.h"
#include "interlock/result.h"

namespace interlock::cli {

// The store a token goes into and the keys its anchor is signed with.
struct TokenStoreOptions {
  std::string store;        // SQLite file or postgresql:// URI
  bool create = false;      // --create: make a named store's missing directory
  std::string keys_dir;     // "" = the store's default
  std::string checkpoints;  // "" = the keys directory's default
};

// One token to create.
struct TokenRequest {
  core::Role role = core::Role::kAgent;
  std::string name;      // the person or agent it is issued to (common/principal_name.h)
  std::string agent_id;  // kAgent: the agent whose policy decides its calls; else ""
  // kAgent: the workspace roots the token's sessions must lie under (issue 54 item 1;
  // empty: the policy's own). Handed to the store by CreateToken below.
  std::vector<std::string> workspace_roots;
};

// Opens the store for writing a token: its place prepared (`who` names the command in
// messages), the anchor signer loaded (created with the store's keys when missing).
Result<std::unique_ptr<core::Store>> OpenTokenStore(const TokenStoreOptions& options,
                                                    std::string_view who);

// Refuses an agent id no policy of `policies` defines (a typo: every call of the token
// would be denied UNKNOWN_AGENT, or start working under whoever later takes that id).
Status CheckAgentDefined(const std::vector<std::string>& policies, const std::string& agent_id);

// Refuses a request CreateToken would refuse (the name; workspace roots this build cannot
// bind), before anything is written.
Status CheckTokenRequest(const TokenRequest& request);

// Validates the request (CheckTokenRequest) and creates the token in `store`; returns the plaintext
// token (shown once: only its hash is stored).
Result<std::string> CreateToken(core::Store& store, const TokenRequest& request);

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_TOKEN_ISSUE_H_
