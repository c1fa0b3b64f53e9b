// `interlock token create|list|revoke`: bearer tokens for agents, reviewers and admins.
//
// Writes the store directly (no daemon needed). `create` prints the new token once on
// stdout; only its SHA-256 is stored, so a lost token is revoked and replaced, never
// recovered.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/time.h"
#include "store/sqlite_store.h"

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
};

std::string DefaultActor() {
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? std::string("cli:") + user : std::string("cli");
}

Result<std::unique_ptr<store::SqliteStore>> OpenStore(const std::string& path, bool create) {
  store::StoreOptions o;
  o.path = path;
  o.create_if_missing = create;
  if (create) {
    // The default store (the XDG state directory) may not have its directory yet.
    std::error_code ec;
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  return store::SqliteStore::Open(o);
}

int Fail(std::string_view what, const Error& e) {
  std::cerr << "interlock token " << what << ": " << e.message << '\n';
  return kExitFailure;
}

int RunCreate(const TokenOptions& opt) {
  const int roles = !opt.agent.empty() + !opt.reviewer.empty() + !opt.admin.empty();
  if (roles != 1) {
    std::cerr << "interlock token create: give exactly one of --agent ID, --reviewer NAME, "
                 "--admin NAME\n";
    return kExitUsage;
  }
  // A new deployment creates its first token before the daemon has ever started.
  auto st = OpenStore(opt.store, /*create=*/true);
  if (!st.ok()) return Fail("create", st.error());
  Result<std::string> token =
      !opt.agent.empty()
          ? (*st)->CreateToken(store::Role::kAgent, opt.agent, opt.agent, SystemClock().Now())
      : !opt.reviewer.empty()
          ? (*st)->CreateToken(store::Role::kReviewer, opt.reviewer, "", SystemClock().Now())
          : (*st)->CreateToken(store::Role::kAdmin, opt.admin, "", SystemClock().Now());
  if (!token.ok()) return Fail("create", token.error());
  std::cout << *token << std::endl;
  std::cerr << "Store this token now: it is shown once and only its hash is kept.\n";
  return kExitOk;
}

int RunList(const TokenOptions& opt) {
  auto st = OpenStore(opt.store, /*create=*/false);
  if (!st.ok()) return Fail("list", st.error());
  auto tokens = (*st)->ListTokens();
  if (!tokens.ok()) return Fail("list", tokens.error());
  if (opt.format == "json") {
    boost::json::array arr;
    for (const store::TokenInfo& t : *tokens) {
      arr.push_back(boost::json::object{{"token_id", t.token_id},
                                        {"role", store::RoleName(t.role)},
                                        {"name", t.name},
                                        {"agent_id", t.agent_id},
                                        {"created", FormatRfc3339(t.created)},
                                        {"revoked", t.revoked}});
    }
    WriteJsonLine(std::cout, arr);
    return kExitOk;
  }
  std::cout << "TOKEN_ID              ROLE      NAME                  CREATED                   "
               "STATUS\n";
  for (const store::TokenInfo& t : *tokens) {
    std::string name = t.name;
    name.resize(std::max<size_t>(name.size(), 21), ' ');
    std::string role = store::RoleName(t.role);
    role.resize(9, ' ');
    std::cout << t.token_id << "  " << role << ' ' << name << ' ' << FormatRfc3339(t.created)
              << "  " << (t.revoked ? "revoked" : "active") << '\n';
  }
  return kExitOk;
}

int RunRevoke(const TokenOptions& opt) {
  auto st = OpenStore(opt.store, /*create=*/false);
  if (!st.ok()) return Fail("revoke", st.error());
  Status s = (*st)->RevokeToken(opt.token_id, opt.actor.empty() ? DefaultActor() : opt.actor,
                                SystemClock().Now());
  if (!s.ok()) return Fail("revoke", s.error());
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
  revoke->callback([opt, exit_code] { *exit_code = RunRevoke(*opt); });
}

const CommandRegistration kRegistration("token", &AddToken);

}  // namespace
}  // namespace interlock::cli
