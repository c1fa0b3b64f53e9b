// The core's facade for the standalone doors: the Claude Code command hook (`interlock hook
// claude-code`, doors/claude_code/) and the stdio MCP gateway (`interlock mcp`,
// doors/mcp_stdio/) when they decide on this machine rather than through `interlock serve`.
// What such a door decides with: a policy file loaded with ${workspace}, the agent it names,
// and the embedded store with the audit key next to it (PATH.keys). With these, and the
// core's other facades (core/app/calls.h, core/guard.h), a door names nothing beneath the core.
//
// The store's backend is the composition root's: the CLI implements LocalStores
// (cli/local_store.h) and hands it to the door, so neither the core nor the door names a
// backend (docs/design.md, "Layers and the rule").
//
// Errors are values whose messages are the sentences a door prints or denies with.
// Thread-safety: the free functions keep no state; LocalStores as its implementation says.
#ifndef INTERLOCK_CORE_APP_STANDALONE_H_
#define INTERLOCK_CORE_APP_STANDALONE_H_

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/app/policy_source.h"  // core::PolicySource, which a standalone door builds its Guard on
#include "core/ports/pin_rows.h"
#include "core/ports/store.h"
#include "interlock/result.h"
#include "policy/policy.h"

namespace interlock::core {

// How a standalone door uses its store (the backend tunes its commits to it).
enum class LocalStoreUse {
  kConcurrent,  // many callers at once (the egress proxy): the writer and syncer threads
  kFewCallers,  // a few callers that each wait (the stdio gateway): commit on the caller
  kOneShot,     // one or two operations, then exit (the command hook)
};

// The embedded store of a standalone door, as the composition root opens it.
class LocalStores {
 public:
  virtual ~LocalStores() = default;
  // Whether `path` names a PostgreSQL store (served by `interlock serve`, never here).
  virtual bool IsPostgres(std::string_view path) const = 0;
  // Makes the place of the store at `path` ready before it is opened: a missing directory
  // of a named store is refused unless `create`; `who` names the command in what it prints
  // (cli::PrepareStorePlace says the whole rule).
  virtual Status PreparePlace(const std::string& path, bool create, std::string_view who) const = 0;
  // Opens the store at `path` (creating it and its audit key when missing). durable_full:
  // fsync every commit; false: WAL with synchronous=NORMAL.
  virtual Result<std::unique_ptr<Store>> Open(const std::string& path, bool durable_full,
                                              LocalStoreUse use) const = 0;
  // The MCP tool pins of the store at `path`, on a connection of their own.
  virtual Result<std::unique_ptr<PinRows>> OpenPinRows(const std::string& path) const = 0;
};

// The workspace `${workspace}` resolves to (docs/policy.md, "Variables"): `dir` made
// absolute against the current directory (empty: the current directory itself) and
// lexically normalised. An error here means the current directory cannot be read.
Result<std::string> WorkspaceDir(std::string_view dir);

// One line on `err` per agent of `set` in shadow mode (only `agent_id` when not empty):
// "warning: policy for agent X is in shadow mode: ...". Returns how many lines were written.
int WarnShadowMode(const policy::PolicySet& set, std::string_view agent_id, std::ostream& err);

// The policy file or directory `path`, loaded with ${workspace} = `workspace`. When it fails
// because `workspace` is not usable where the policy uses ${workspace}, *workspace_problem
// (when given) is set to that diagnostic ("file:line: ..."), so the door can say why.
Result<std::shared_ptr<const policy::PolicySet>> LoadPolicyFile(const std::string& path,
                                                                std::string workspace,
                                                                std::string* workspace_problem);

// The fields agent `agent_id`'s rule for `tool` redacts (empty: none, or no such agent).
std::vector<std::string> RedactFieldsOf(const policy::PolicySet& set, std::string_view agent_id,
                                        std::string_view tool);

// How the standalone store at a path records arguments: redacted with its audit key (the key
// directory next to the store), so a door can compare arguments with what was recorded.
class StoreRedaction {
 public:
  // Loads (creating when missing) the audit key of the store at `store_path`.
  static Result<StoreRedaction> ForStore(const std::string& store_path);
  // `args` as the store records them: each top-level field in `fields` replaced by its HMAC.
  boost::json::object RecordedArgs(const boost::json::object& args,
                                   const std::vector<std::string>& fields) const;
  // Masks every occurrence of `secrets` in the strings of `v` (audit::Redactor's rule).
  static void MaskSecrets(boost::json::value* v, const std::vector<std::string>& secrets);
  // {field: value} of the `fields` present in `args` (core::RedactedValues::Pick).
  static boost::json::object PickRedacted(const boost::json::object& args,
                                          const std::vector<std::string>& fields);

 private:
  explicit StoreRedaction(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_STANDALONE_H_
