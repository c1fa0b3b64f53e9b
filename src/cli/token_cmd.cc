// `interlock token create|list|revoke`: bearer tokens for agents, reviewers and admins.
//
// Writes the store directly (no daemon needed). `create` prints the new token once on
// stdout; only its SHA-256 is stored, so a lost token is revoked and replaced, never
// recovered. An agent token is checked against the policies the daemon loads (--policy):
// a token for an agent id no policy defines is refused unless --force. Names are people
// (common/principal_name.h): invisible, control and surrounding-space characters are
// refused with the reason.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/local_store.h"
#include "cli/token_issue.h"
#include "common/principal_name.h"
#include "common/time.h"
#include "core/workspace.h"
#include "policy/loader.h"
#include "store/open_store.h"

namespace interlock::cli {
namespace {

struct TokenOptions {
  std::string store;
  std::string agent;
  std::string reviewer;
  std::string admin;
  std::string format = "table";
  std::string token_id;
  std::string actor;
  std::vector<std::string> policies;         // create --agent: the agent id must be defined here
  std::vector<std::string> workspace_roots;  // create --agent --workspace-root (repeatable)
  bool force = false;                        // create --agent without the policy check
  bool create = false;                       // create --create: make a named store's directory
  std::string keys_dir;
  std::string checkpoints;
};

int RunCreate(const TokenOptions& opt) {
  const int roles = !opt.agent.empty() + !opt.reviewer.empty() + !opt.admin.empty();
  if (roles != 1) {
    return Fail("token create", "give exactly one of --agent ID, --reviewer NAME, --admin NAME");
  }
  TokenRequest request;
  request.role = !opt.agent.empty()      ? core::Role::kAgent
                 : !opt.reviewer.empty() ? core::Role::kReviewer
                                         : core::Role::kAdmin;
  request.name = !opt.agent.empty() ? opt.agent : !opt.reviewer.empty() ? opt.reviewer : opt.admin;
  request.agent_id = opt.agent;
  const char* what = request.role == core::Role::kAgent      ? "agent id"
                     : request.role == core::Role::kReviewer ? "reviewer name"
                                                             : "admin name";
  if (Result<std::string> ok = ValidatePrincipalName(request.name, what); !ok.ok()) {
    return Fail("token create", ok.error(), kExitFailure);
  }
  if (!opt.agent.empty() && !opt.force) {
    // A token for an agent no policy defines is a typo waiting to happen.
    if (opt.policies.empty()) {
      return Fail(
          "token create",
          "--agent needs --policy PATH (the policies the daemon loads) to check that agent \"" +
              opt.agent + "\" is defined; pass --force to create it anyway");
    }
    if (Status defined = CheckAgentDefined(opt.policies, opt.agent); !defined.ok()) {
      return Fail("token create", defined.error(), kExitFailure);
    }
  }
  if (Status roots = core::CheckTokenWorkspaceRoots(
          opt.agent.empty() ? core::Role::kReviewer : core::Role::kAgent, opt.workspace_roots);
      !roots.ok()) {
    return Fail("token create", "--workspace-root: " + roots.error().message, kExitUsage);
  }
  request.workspace_roots = opt.workspace_roots;
  auto st = OpenTokenStore({opt.store, opt.create, opt.keys_dir, opt.checkpoints}, "token create");
  if (!st.ok()) return Fail("token create", st.error(), kExitFailure);
  Result<std::string> token = CreateToken(**st, request);
  if (!token.ok()) return Fail("token create", token.error(), kExitFailure);
  std::cout << *token << std::endl;
  std::cerr << "Store this token now: it is shown once and only its hash is kept.\n";
  return kExitOk;
}

int RunList(const TokenOptions& opt) {
  auto st = store::OpenStore(store::OperatorStoreOptions(opt.store));
  if (!st.ok()) return Fail("token list", st.error(), kExitFailure);
  auto tokens = (*st)->ListTokens();
  if (!tokens.ok()) return Fail("token list", tokens.error(), kExitFailure);
  if (opt.format == "json") {
    boost::json::array arr;
    for (const core::TokenInfo& t : *tokens) {
      arr.push_back(
          boost::json::object{{"token_id", t.token_id},
                              {"role", core::RoleName(t.role)},
                              {"name", t.name},
                              {"agent_id", t.agent_id},
                              {"created", FormatRfc3339(t.created)},
                              {"revoked", t.revoked},
                              {"workspace_roots", core::WorkspaceRootsArray(t.workspace_roots)}});
    }
    WriteJsonLine(std::cout, arr);
    return kExitOk;
  }
  std::cout << "TOKEN_ID              ROLE      NAME                  CREATED                   "
               "STATUS\n";
  for (const core::TokenInfo& t : *tokens) {
    std::string name = t.name;
    name.resize(std::max<size_t>(name.size(), 21), ' ');
    std::string role = core::RoleName(t.role);
    role.resize(9, ' ');
    std::cout << t.token_id << "  " << role << ' ' << name << ' ' << FormatRfc3339(t.created)
              << "  " << (t.revoked ? "revoked" : "active") << '\n';
  }
  return kExitOk;
}

int RunRevoke(const TokenOptions& opt) {
  // Token records are signed into the checkpoint file (on PostgreSQL also the fleet's
  // checkpoint table) before the token is handed out or stops working (docs/audit.md,
  // "Anchors"). A revocation narrows access: it is never held up by a missing anchor.
  audit::CheckpointSigner signer;
  if (auto loaded = LoadExistingStoreSigner(opt.store, opt.keys_dir, opt.checkpoints);
      loaded.ok()) {
    signer = std::move(loaded).value();
  } else {
    std::cerr << "interlock token revoke: warning: the record will not be anchored by a "
                 "signed checkpoint: "
              << loaded.error().message << '\n';
  }
  auto st = store::OpenStore(store::OperatorStoreOptions(opt.store, std::move(signer)));
  if (!st.ok()) return Fail("token revoke", st.error(), kExitFailure);
  Status s = (*st)->RevokeToken(opt.token_id, OperatorActor(opt.actor), SystemClock().Now());
  if (!s.ok()) return Fail("token revoke", s.error(), kExitFailure);
  std::cout << "revoked " << opt.token_id << '\n';
  return kExitOk;
}

void AddToken(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<TokenOptions>();
  CLI::App* cmd = app.add_subcommand("token", "Create, list and revoke bearer tokens");
  cmd->require_subcommand(1);

  CLI::App* create = cmd->add_subcommand(
      "create", "Create a token and print it once on stdout (only its hash is stored)");
  AddStoreFlag(create, &opt->store);
  create->add_option("--agent", opt->agent, "Agent token bound to this agent id");
  create->add_option("--reviewer", opt->reviewer, "Reviewer token with this name");
  create->add_option("--admin", opt->admin, "Admin token with this name");
  create->add_option("--workspace-root", opt->workspace_roots,
                     "With --agent: bind the token to this workspace root (repeatable; an "
                     "absolute pattern such as /home/ann/src/*): a Claude Code session asking "
                     "with it must have its project within one, and within the policy's "
                     "workspace_roots (docs/policy.md#workspace_roots)");
  create->add_option("--policy,--policies", opt->policies,
                     "Policy file or directory the daemon loads (repeatable): --agent must be "
                     "defined there");
  create->add_flag("--force", opt->force, "Create an agent token without the --policy check");
  create->add_flag("--create", opt->create,
                   "Make the missing directories of --store (0700); without it a named store "
                   "whose directory does not exist is refused");
  AddAuditKeyFlags(create, &opt->keys_dir, &opt->checkpoints);
  create->callback([opt, exit_code] { *exit_code = RunCreate(*opt); });

  CLI::App* list = cmd->add_subcommand("list", "List tokens (never their values)");
  AddStoreFlag(list, &opt->store);
  list->add_option("--format", opt->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  list->callback([opt, exit_code] { *exit_code = RunList(*opt); });

  CLI::App* revoke = cmd->add_subcommand("revoke", "Revoke a token by its id (tok_...)");
  AddStoreFlag(revoke, &opt->store);
  revoke->add_option("TOKEN_ID", opt->token_id, "Token id from `interlock token list`")->required();
  revoke->add_option("--actor", opt->actor, "Who revokes it, for the audit log (default: $USER)");
  AddAuditKeyFlags(revoke, &opt->keys_dir, &opt->checkpoints);
  revoke->callback([opt, exit_code] { *exit_code = RunRevoke(*opt); });
}

const CommandRegistration kRegisterToken("token", &AddToken);

}  // namespace
}  // namespace interlock::cli
