// PolicySet: the validated, immutable form of a directory of agent policy files.
//
// Built once by LoadPolicy*() (loader.h) and never mutated; shared between threads as
// std::shared_ptr<const PolicySet> and replaced whole on reload. Request time never
// re-validates: every regex is compiled, every path normalised, every sugar expanded
// here. yaml-cpp is confined to this module; nothing here exposes a YAML type.
#ifndef INTERLOCK_POLICY_POLICY_H_
#define INTERLOCK_POLICY_POLICY_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>
#include <boost/json/value.hpp>

#include "policy/egress.h"
#include "policy/shell_command.h"
#include "policy/url_constraint.h"

namespace interlock::policy {

// Where something is written: "file.yaml:12:7". Line and column are 1-based.
struct Location {
  std::string file;  // as given to the loader (relative paths stay relative)
  int line = 0;
  int column = 0;
  std::string ToString() const;  // "file:line:col", or "" when unknown
};

enum class Mode { kEnforce, kShadow };
enum class Autonomy { kGateAll, kExceptionBased, kAuditBased };
enum class BlastRadius { kSmall, kLarge };
enum class BudgetAction { kDeny, kHalt, kHaltAndEscalate };

const char* ModeName(Mode m);
const char* AutonomyName(Autonomy a);
const char* BlastRadiusName(BlastRadius b);
const char* BudgetActionName(BudgetAction a);

// One step of an argument path after its top-level key (docs/policy.md, "Argument paths").
struct ArgPathStep {
  enum class Kind { kField, kEach };
  Kind kind = Kind::kField;
  std::string field;  // kField: the object key, byte-exact
};

// One constraint on one argument: a top-level key, or a value reached from it through
// object fields and array items (`paths[*]`, `options.recursive`, `edits[*].oldText`).
// Every set check must pass, on every value the path reaches. A constrained value that
// is missing or null anywhere along the path violates the constraint unless `optional`
// is true (then a missing or null value skips the check); a value of the wrong type
// along the path (`[*]` on a string, `.x` on an array) always violates it.
struct ArgConstraint {
  std::string argument;            // top-level key in the call's args (the path's first step)
  std::vector<ArgPathStep> steps;  // the rest of the path; empty: the top-level value
  std::string path;  // the normalised path, e.g. "edits[*].oldText"; empty when steps is
  std::string rule;  // stable id, e.g. tools.allowed["x"].constraints.allowed_statuses
  Location at;
  bool optional = false;
  // Allowed values; compared as JSON values of the same type (never "10" == 10).
  std::vector<boost::json::value> one_of;
  // one_of as reasons quote it ("a", "b"), written by AgentPolicy::PrepareTexts.
  std::string one_of_text;
  std::string at_text;                         // at.ToString(), written by PrepareTexts
  std::vector<boost::json::value> not_one_of;  // refused values, compared as one_of
  std::optional<double> min;                   // numbers only
  std::optional<double> max;
  std::optional<uint64_t> max_length;           // strings, in bytes
  std::optional<uint64_t> max_bytes;            // strings: UTF-8 bytes; others: compact JSON size
  std::optional<uint64_t> min_items;            // arrays
  std::optional<uint64_t> max_items;            // arrays
  std::shared_ptr<const re2::RE2> pattern;      // strings, full match, RE2 (linear time)
  std::shared_ptr<const re2::RE2> not_pattern;  // strings, refused when found anywhere
  // Strings that are paths: normalised ('.', '..', '//' resolved lexically; '\\' and
  // percent-encoding rejected) and required to lie under one of these prefixes.
  std::vector<std::string> path_prefixes;
  // Strings that are shell command lines (shell_command.h) or URLs (url_constraint.h).
  std::shared_ptr<const ShellMatcher> shell;
  std::shared_ptr<const UrlMatcher> url;
};

// A constraint over several arguments at once: the tuple of their values must equal one
// of the listed tuples (JSON equality as for one_of). Paths never contain `[*]`; a
// missing or null value violates it.
inline constexpr size_t kMaxCombinationArguments = 16;  // checked without allocating
struct ArgCombination {
  std::vector<ArgConstraint> arguments;  // only argument, steps and path are set
  std::vector<std::vector<boost::json::value>> one_of;
  std::string rule;  // tools.allowed["x"].constraints.combinations[0]
  Location at;
};

// Appends one field step of an argument path as the path syntax writes it: `name` (first
// step) or `.name`, or `["key"]` (a JSON string) when the key is empty or has `.`, `[`,
// `]`, `*`, quotes, spaces or control bytes. Used for normalised paths and for reasons.
void AppendArgPathField(std::string* out, std::string_view field, bool first);

// Tool-name patterns (`mcp__github__*`, `*_delete`) are the common glob (common/glob.h):
// `*` matches any run of bytes, empty included; every other byte matches itself (no case
// folding). A name without `*` matches only itself. Linear in |pattern| * |name| at
// worst, allocation free.
bool ToolPatternMatches(std::string_view pattern, std::string_view name);

// Whether some tool name matches both patterns (either may be an exact name). Exact:
// a reachability search over the pair of positions, O(|a| * |b|) time and memory.
bool ToolPatternsOverlap(std::string_view a, std::string_view b);

// At most `calls` counted calls of a tool per sliding window of `per_seconds`, across every
// run of the agent (docs/policy.md, "rate limits and quotas").
struct RateLimit {
  uint64_t calls = 0;
  int64_t per_seconds = 0;
  Location at;
};

// on_behalf_of: (docs/policy.md#on-behalf-of): who a call of the tool must be made for. A
// call whose agent names no human (an Interlock token, or a JWT without the configured
// on_behalf_of claim) is denied ON_BEHALF_OF_REQUIRED; so is one whose human is not in
// `in` (when set) or carries none of `groups` (when set).
struct OnBehalfOfRule {
  std::vector<std::string> in;      // empty: any human
  std::vector<std::string> groups;  // empty: no group needed; else any one of them
  Location at;
};

struct ToolRule {
  std::string name;  // byte-exact
  Location at;
  // Data fields the tool may touch. When set, the argument named scope_argument (if
  // present) must be an array of strings, each one in `scope`.
  std::optional<std::vector<std::string>> scope;
  // scope as reasons quote it ("a", "b"), written by AgentPolicy::PrepareTexts.
  std::string scope_text;
  // tools.allowed["<name>"] and `tool "<name>" is allowed`, written by PrepareTexts.
  std::string rule_id_text;
  std::string allowed_reason_text;
  std::string at_text;  // at.ToString(), written by PrepareTexts
  std::string scope_argument = "fields";
  std::optional<uint64_t> max_records_per_run;
  Location max_records_at;
  std::vector<ArgConstraint> constraints;
  std::vector<ArgCombination> combinations;
  std::optional<bool> requires_approval;  // unset: derived from reversible/autonomy
  int approval_timeout_seconds = 0;       // 0: unset
  bool auto_deny_on_timeout = true;
  int approvals_required = 1;
  std::optional<bool> reversible;  // unset: treated as reversible
  BlastRadius blast_radius = BlastRadius::kSmall;
  // `blast_radius:` is written: the value above is the policy's, not the default (the
  // reviewer page shows an unwritten one as "not classified").
  bool blast_radius_written = false;
  std::optional<Autonomy> autonomy;  // unset: the agent's autonomy
  std::vector<std::string> redact;   // argument names whose values are never stored
  // Sequences (docs/policy.md, "labels and flows", "rate limits and quotas").
  std::vector<std::string> labels;  // what a call of the tool carries into the run
  // `labels:` is written (even as []): the policy decides the tool's labels and the labels
  // the tool declares for itself (ToolCall::declared_labels, MCP annotations) are ignored.
  bool labels_written = false;
  std::optional<RateLimit> rate_limit;
  // rehearse: (docs/policy.md#rehearsal) an allowed call is first sent as a rehearsal:
  // with `args` merged into its arguments (top-level keys replaced), to `upstream` when set
  // (a staging server), else to the same server. At least one of the two is set.
  struct Rehearse {
    boost::json::object args;
    std::string upstream;
    Location at;
  };
  std::optional<Rehearse> rehearse;
  std::optional<OnBehalfOfRule> on_behalf_of;
  // credential_scope: (docs/identity.md#upstream-credentials) the scopes an upstream
  // credential for this tool's calls asks for; unset: the upstream's default scope.
  std::optional<std::vector<std::string>> credential_scope;
};

struct Execution {
  std::optional<uint64_t> max_steps;
  std::optional<uint64_t> max_tokens_per_run;
  std::optional<int64_t> max_wall_clock_ms;
  std::optional<int64_t> max_cost_micros;
  BudgetAction on_budget_exceeded = BudgetAction::kHalt;
  std::string notify;  // channel for escalations, e.g. "#oncall-agents"
  Location at;         // of the `execution` key
};

// Per-agent totals over one UTC day, across every run of the agent.
struct Quotas {
  std::optional<uint64_t> calls_per_day;
  std::optional<uint64_t> tokens_per_day;
  std::optional<int64_t> cost_micros_per_day;
  Location at;
  bool any() const { return calls_per_day || tokens_per_day || cost_micros_per_day; }
};

// When a call carries every label in `to` and the run (its earlier calls that proceeded,
// and this call itself) has seen every label in `from`: deny (FLOW_VIOLATION) or ask a
// human (APPROVAL_REQUIRED). Labels are free names (docs/policy.md, "labels and flows").
struct FlowRule {
  enum class Action { kDeny, kRequireApproval };
  std::string name;
  std::vector<std::string> from;
  std::vector<std::string> to;
  Action action = Action::kDeny;
  std::string reason;  // optional; appended to the decision's reason
  Location at;
};

struct Workflow;  // workflow.h

struct FreezeWindow {
  std::string name;
  Location at;
  std::chrono::system_clock::time_point start;  // inclusive
  std::chrono::system_clock::time_point end;    // exclusive
  std::vector<std::string> tools;               // "*" freezes every tool
  std::string reason;
};

// How a tool name resolves against tools.allowed and tools.blocked (AgentPolicy::Resolve).
struct ToolResolution {
  enum class Kind { kNone, kAllowed, kBlocked };
  Kind kind = Kind::kNone;         // kNone: no entry matches (default deny)
  std::string_view entry;          // the deciding entry as written (a name or a pattern)
  const ToolRule* rule = nullptr;  // kAllowed: the rule; else nullptr
  const Location* at = nullptr;    // where the deciding entry is written; else nullptr
  bool pattern = false;            // the deciding entry contains `*`
};

// One pattern entry (a name containing `*`) of tools.allowed or tools.blocked, for
// AgentPolicy::Resolve. Held by name so that copies of an AgentPolicy stay valid.
struct ToolPatternEntry {
  std::string pattern;
  bool blocked = false;
  size_t literal_bytes = 0;  // specificity: bytes that are not `*`
};

struct AgentPolicy {
  std::string id;        // agent.id
  std::string identity;  // agent.identity: the service account the agent authenticates as
  std::string file;      // source file path
  std::string sha256;    // hex digest of the file bytes
  // Where the agent's keys are written, for lint and cross-file diagnostics (duplicate
  // agent.id or agent.identity across files). Unset (line 0) when the key is absent.
  Location at;           // the `agent` key
  Location id_at;        // agent.id
  Location identity_at;  // agent.identity
  Location tools_at;     // the `tools` key
  Location mode_at;      // agent.mode (the shadow warning names it)
  Mode mode = Mode::kEnforce;
  Autonomy autonomy = Autonomy::kExceptionBased;
  std::map<std::string, ToolRule, std::less<>> allowed;
  std::map<std::string, Location, std::less<>> blocked;
  Execution execution;
  std::vector<std::string> escalation_contacts;
  std::vector<FreezeWindow> freezes;
  uint64_t trust_threshold = 200;  // clean completions before graduation (issue 7)
  // The pattern entries of `allowed` and `blocked`, most specific first (ties: blocked
  // before allowed, then in the order written). Built by IndexToolPatterns().
  std::vector<ToolPatternEntry> tool_patterns;

  // The one place a tool name is resolved (docs/policy.md, "Tool-name patterns"): an
  // exact entry (blocked, then allowed) wins over any pattern; among patterns the more
  // specific (more non-`*` bytes) wins; at equal specificity blocked beats allowed; among
  // allowed patterns of equal specificity the one written first wins. The result points
  // into this policy. Allocation free.
  ToolResolution Resolve(std::string_view tool) const;

  // Rebuilds tool_patterns from `allowed` and `blocked`. The loader calls it; code that
  // builds an AgentPolicy by hand calls it after filling the maps.
  void IndexToolPatterns();

  // Writes the texts reasons quote from the policy (each constraint's one_of_text, each
  // rule's scope_text, rule_id_text, allowed_reason_text and at_text) once, so that a decision
  // copies them instead of writing them again. The loader calls it; without it the engine writes
  // them per decision.
  void PrepareTexts();

  // Sequences (issue 15): null when the policy has no `workflow`.
  std::shared_ptr<const Workflow> workflow;
  std::vector<FlowRule> flows;
  Quotas quotas;

  // Where the agent's tools may connect (docs/policy.md, "egress"); egress.present false:
  // nowhere. Decided by the engine for calls of kind kEgress.
  EgressPolicy egress;
  Location egress_at;  // the `egress` key

  // Where a Claude Code session's workspace may lie (docs/policy.md, "workspace_roots"):
  // absolute, normalised patterns whose `*` matches within one path segment. A session's
  // project must be a root or below one (core::ResolveSessionWorkspace). Empty: none named.
  std::vector<std::string> workspace_roots;
  Location workspace_roots_at;  // the `workspace_roots` key
  // What the policy was parsed from, kept only when it uses ${workspace} (null otherwise),
  // so that it can be compiled again for a run's own workspace (policy::CompileForWorkspace).
  struct Source {
    std::string text;
    std::function<std::optional<std::string>(std::string_view name)> getenv;
  };
  std::shared_ptr<const Source> workspace_source;
};

// For an agent in shadow mode, the one-line warning every front door prints at start
// (docs/policy.md, "Shadow mode"): "warning: policy for agent X is in shadow mode: calls
// are recorded, not enforced (file:line)", no newline; empty in enforce mode.
std::string ShadowWarning(const AgentPolicy& policy);

struct PolicySet {
  std::map<std::string, std::shared_ptr<const AgentPolicy>, std::less<>> agents;  // by id
  std::string sha256;  // digest over the sorted (id, file digest) pairs

  // nullptr when no agent has that id.
  const AgentPolicy* Find(std::string_view agent_id) const;
};

}  // namespace interlock::policy

#endif  // INTERLOCK_POLICY_POLICY_H_
