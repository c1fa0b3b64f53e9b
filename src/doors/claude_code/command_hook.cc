// `interlock hook claude-code`: the Claude Code PreToolUse hook; with --event
// permission-request the PermissionRequest hook (the same decision, answered as
// decision.behavior: a dialog for a call the PreToolUse hook already decided gets the
// verdict already given, counted once); with --event post-tool-use the PostToolUse hook
// (RunPostToolUse below: records that a call the PreToolUse hook allowed or answered `ask`
// ran, and its result; never blocks, exit 0); with --event permission-denied the
// PermissionDenied hook (a denial Claude Code made on its own, recorded as a refused call;
// answers `{}`); with --event auto whichever of the four hook_event_name names. Every
// event's semantics are the daemon's HTTP hook's (src/doors/http_api/api_hooks.cc), through the
// same contract (doors/claude_code/contract.h): the key a tool use's events share, the reported
// calls, the one mapping of a decision to an answer.
//
// Reads the hook's JSON on stdin (doors/claude_code/contract.h), decides the call through the
// shared Guard on the embedded store, or through `interlock serve` with --daemon, and prints
//   {"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":
//    "allow"|"deny"|"ask","permissionDecisionReason":"..."}}
// allow -> allow (or, with --allowed-as no-objection, `{}`: no decision, so Claude Code's
// own permission rules and prompts still apply), deny -> deny, and approval_required:
//   standalone: ask when one approver suffices (Claude Code asks the human; Interlock
//     learns the answer only from the PostToolUse hook, when the call ran), deny when the policy
//     needs two or more approvers (one person at a local prompt must not stand in for them);
//   --daemon: waits for the central verdict up to --approval-wait seconds (counted from
//     the hook's start, to stay under Claude Code's hook timeout) and answers it (allow,
//     or deny with the reviewer's reason); without a verdict in time, a deny naming the
//     approval id and its link. A retry of the identical call re-posts the same
//     {tool, args} (nothing per invocation is added), so the daemon attaches it to the
//     pending approval and the hook waits on the call id it answers.
//
// Fail closed, the Claude Code way: Claude Code treats exit 2 as "block" but every other
// non-zero exit as "proceed". So every failure of Interlock itself (bad stdin, bad
// policy, store unavailable, an exception) prints a deny and exits 0; nothing here exits
// non-zero except CLI11's own usage errors, which Claude Code would surface as a hook
// error at configuration time.
//
// One Interlock run per Claude Code session: run id "cc-" + the first 32 hex digits of
// SHA-256(session_id), created on the session's first call and reused after; the store
// refuses the run to any other agent, and distinct sessions cannot share a run.
//
// With --daemon URL --token-env NAME the decision comes from `interlock serve` instead
// (no --policy needed), in the daemon's one run of the session (POST /v1/runs with
// {"claude_code_session": session_id}, the run the HTTP hook uses too), so the calls of a
// session share its budgets whatever the hook keeps on disk. Daemon failures are denies too.
#include "doors/claude_code/command_hook.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "common/await.h"
#include "common/crypto.h"
#include "common/decision_json.h"
#include "common/file.h"
#include "common/json.h"
#include "common/private_fs.h"
#include "common/store_path.h"
#include "common/time.h"
#include "core/app/approvals.h"
#include "core/app/calls.h"
#include "core/app/standalone.h"
#include "core/guard.h"
#include "doors/claude_code/contract.h"
#include "mcp/daemon_enforcer.h"

namespace interlock::claude_code {
namespace {

namespace json = boost::json;

// The hook's exit status: always 0 (Claude Code proceeds on any other but 2, so every
// answer, a deny included, is printed).
constexpr int kExitOk = 0;

// The one line of JSON the hook prints for `event` (doors/claude_code/contract.h: the shape
// shared with the daemon's HTTP hook).
int Print(HookEvent event, const HookAnswer& answer) {
  std::cout << HookAnswerJson(event, answer) << std::endl;
  return kExitOk;
}

int Deny(HookEvent event, const std::string& reason) { return Print(event, HookDeny(reason)); }

// Reads stdin up to the cap; false when larger or unreadable.
bool ReadStdin(std::string* out) {
  char buf[65536];
  for (;;) {
    const ssize_t n = read(0, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > kMaxHookInputBytes) return false;
  }
}

std::string RunIdForSession(std::string_view session_id) {
  return "cc-" + Sha256Hex(session_id).substr(0, 32);
}

std::string Reason(const Decision& d) { return std::string(CodeName(d.code)) + ": " + d.reason; }

// A final verdict (allow or deny; approval_required is the caller's to map), through the
// core's one mapping: an allow is "allow" (skips Claude Code's permission prompt), or with
// --allowed-as no-objection `{}` (Claude Code's own rules and prompts still apply), except
// in auto mode, where `{}` would leave the call to the classifier: there it is "allow".
int PrintVerdict(const CommandHookOptions& opt, const Decision& d, const HookInput& input) {
  return Print(input.event,
               HookAnswerFor(d, {.allowed_as_no_objection = opt.allowed_as == "no-objection",
                                 .permission_mode = input.permission_mode}));
}

// Standalone approval_required: the local prompt is one person, so it may stand in for
// one approver only, and only where a person answers it (HookAnswerFor).
// A PermissionRequest answered `ask` shows Claude Code's dialog (HookAnswerJson).
int PrintStandaloneApproval(const Decision& d, const HookInput& input) {
  return Print(input.event, HookAnswerFor(d, {.local_person_may_decide = true,
                                              .permission_mode = input.permission_mode}));
}

// $XDG_STATE_HOME/interlock/hook-runs (else $HOME/.local/state/...): where the hook keeps
// the daemon call ids of a session's tool uses (CallMapPath).
Result<std::string> HookRunsDir() {
  return StateDirPath("hook-runs", " (needed for the session map)");
}

// --daemon: the daemon call the PreToolUse hook decided for one tool use of a session, so
// that the PostToolUse hook (which gets the same tool_use_id) reports its result to that
// call: $XDG_STATE_HOME/interlock/hook-calls/<first 32 hex of SHA-256(session_id)>/<first 32
// hex of SHA-256(tool_use_id)> (else under $HOME/.local/state), holding the call id.
Result<std::string> CallMapPath(std::string_view session_id, std::string_view tool_use_id) {
  auto runs = HookRunsDir();
  if (!runs.ok()) return runs.error();
  const std::string dir = std::filesystem::path(*runs).parent_path().string() + "/hook-calls/";
  return dir + Sha256Hex(session_id).substr(0, 32) + "/" + Sha256Hex(tool_use_id).substr(0, 32);
}

// What CallMapPath holds: the call id, then (from this version on) the SHA-256 of the call's
// tool and arguments (ToolUseKeyOf), so a PermissionRequest of the same tool use with
// other arguments is never answered this call's verdict.
struct CallMemo {
  std::string call_id;
  std::string request_sha256;  // empty in a file written before
};

Result<CallMemo> ReadCallMemo(const std::string& path) {
  auto text = ReadFileBounded(path, 512, "hook call file");
  if (!text.ok()) return text.error();
  CallMemo memo;
  const size_t nl = text->find('\n');
  memo.call_id = text->substr(0, nl);
  if (nl != std::string::npos) {
    memo.request_sha256 = text->substr(nl + 1);
    while (!memo.request_sha256.empty() &&
           (memo.request_sha256.back() == '\n' || memo.request_sha256.back() == '\r')) {
      memo.request_sha256.pop_back();
    }
  }
  while (!memo.call_id.empty() && memo.call_id.back() == '\r') memo.call_id.pop_back();
  if (memo.call_id.empty()) return Error::Corrupt("hook call file " + path + " is empty");
  return memo;
}

// Best effort: a call that cannot be remembered is still answered; its PostToolUse then
// says that it finds no decided call.
void RememberCall(const HookInput& input, const std::string& call_id) {
  if (input.tool_use_id.empty() || call_id.empty()) return;
  auto path = CallMapPath(input.session_id, input.tool_use_id);
  if (!path.ok()) return;
  // 0700 like every state directory (common/private_fs.h); the file is not a secret.
  (void)CreatePrivateDirectories(std::filesystem::path(*path).parent_path().string());
  std::ofstream out(*path, std::ios::trunc);
  out << call_id << "\n" << ToolUseKeyOf(input).request_sha256 << "\n";
  if (!out) {
    std::cerr << "interlock hook: could not remember call " << call_id << " for PostToolUse in "
              << *path << '\n';
  }
}

// The daemon's Enforcer of --daemon, over the daemon client the composition root handed in.
Result<std::unique_ptr<mcp::DaemonEnforcer>> OpenHookDaemon(const CommandHookOptions& opt) {
  if (opt.daemon_connector == nullptr) {
    return Error::Invalid("no daemon client was handed to the hook (--daemon " + opt.daemon + ")");
  }
  return mcp::DaemonEnforcerFromEnv(*opt.daemon_connector, opt.daemon, opt.token_env,
                                    opt.daemon_ca);
}

// --daemon approval_required: waits for the central verdict until `deadline`, then
// answers it, or denies naming the approval so a reviewer can find it and the agent can
// retry the identical call (which attaches to the same approval).
int AwaitDaemonApproval(const CommandHookOptions& opt, mcp::DaemonEnforcer& daemon,
                        const mcp::DaemonEnforcer::Outcome& pending,
                        std::chrono::steady_clock::time_point deadline, const HookInput& input) {
  auto past_deadline = [deadline] { return std::chrono::steady_clock::now() >= deadline; };
  mcp::DaemonEnforcer::Outcome verdict = pending;
  if (!past_deadline()) verdict = daemon.AwaitApproval(pending, past_deadline, nullptr);
  if (verdict.decision.verdict != Verdict::kApprovalRequired) {
    if (verdict.decision.verdict == Verdict::kAllow) {
      RememberCall(input, verdict.call_id.empty() ? pending.call_id : verdict.call_id);
    }
    return PrintVerdict(opt, verdict.decision, input);
  }
  std::string where =
      pending.approval_id.empty() ? "call " + pending.call_id : "approval " + pending.approval_id;
  if (!pending.approval_url.empty()) where += " (" + pending.approval_url + ")";
  return Deny(input.event, Reason(pending.decision) + "; no reviewer decided within " +
                               std::to_string(opt.approval_wait_seconds) + " s: " + where +
                               " is still pending; retry the same call after a reviewer decides");
}

// --daemon: the daemon's answer to `call` in the session's run. The run is the daemon's own
// for the session (POST /v1/runs {"claude_code_session"}: ClaudeCodeRunId), joined at
// each call: nothing the hook keeps on disk names it, so an agent that deletes or rewrites
// the hook's files cannot move its session into a fresh run with fresh budgets. The call is
// sent under the tool use's key (ToolUseKeyOf) as its Idempotency-Key, so the events
// of one tool use are decided and counted once by the daemon itself, whatever the hook's
// files say. An error: no run.
Result<mcp::DaemonEnforcer::Outcome> DecideInSessionRun(mcp::DaemonEnforcer& daemon,
                                                        const HookInput& input, ToolCall call) {
  auto run = daemon.StartRun(input.session_id, input.cwd);
  if (!run.ok()) return run.error();
  return daemon.Decide(std::move(call), ToolUseKeyOf(input).key);
}

std::string NoSessionRun(const Error& e) {
  return std::string(CodeName(Code::kStoreUnavailable)) + ": no daemon run for this session (" +
         e.message + "); call denied";
}

// --daemon: the decision comes from `interlock serve`, in the session's run.
int RunHookDaemon(const CommandHookOptions& opt, const HookInput& input,
                  std::chrono::steady_clock::time_point deadline) {
  auto daemon = OpenHookDaemon(opt);
  if (!daemon.ok()) return Deny(input.event, daemon.error().message);
  auto out = DecideInSessionRun(**daemon, input, HookCall(input));
  if (!out.ok()) return Deny(input.event, NoSessionRun(out.error()));
  if (out->decision.verdict == Verdict::kApprovalRequired) {
    return AwaitDaemonApproval(opt, **daemon, *out, deadline, input);
  }
  if (out->decision.verdict == Verdict::kAllow) RememberCall(input, out->call_id);
  return PrintVerdict(opt, out->decision, input);
}

bool SafeCallId(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// --daemon PermissionRequest: the daemon cannot be sent the tool use's key here (the
// gateway's client sends none), so the PreToolUse hook's memo of the call it allowed for
// this tool use (CallMapPath, bound to the call's SHA-256) stands in: that call is looked
// up at the daemon (GET /v1/calls/{id}: the daemon answers it only to its agent) and its
// verdict answered, nothing decided or counted again. A grant the PreToolUse hook already
// released is this tool use's grant: answered allow. No memo for this call (no PreToolUse
// hook, another call, no tool_use_id): decided now, as the PreToolUse hook decides (an
// identical call awaiting reviewers attaches to its approval, counted once).
int RunPermissionRequestDaemon(const CommandHookOptions& opt, const HookInput& input,
                               std::chrono::steady_clock::time_point deadline) {
  auto path = input.tool_use_id.empty() ? Result<std::string>(Error::Invalid("no tool_use_id"))
                                        : CallMapPath(input.session_id, input.tool_use_id);
  auto memo = path.ok() ? ReadCallMemo(*path) : Result<CallMemo>(path.error());
  if (!memo.ok() || memo->request_sha256 != ToolUseKeyOf(input).request_sha256 ||
      !SafeCallId(memo->call_id)) {
    return RunHookDaemon(opt, input, deadline);
  }
  auto daemon = OpenHookDaemon(opt);
  if (!daemon.ok()) return Deny(input.event, daemon.error().message);
  const std::string unavailable = std::string(CodeName(Code::kStoreUnavailable)) +
                                  ": cannot look up call " + memo->call_id +
                                  " that the PreToolUse hook allowed for this tool use (";
  auto reply =
      (*daemon)->Exchange("GET", "/v1/calls/" + memo->call_id, "", std::chrono::seconds(15));
  if (!reply.ok()) return Deny(input.event, unavailable + reply.error().message + ")");
  if (reply->status != 200) {
    return Deny(input.event, unavailable + "HTTP " + std::to_string(reply->status) + ")");
  }
  auto doc = ParseOwnJson(reply->body);
  std::optional<Decision> d;
  if (doc.ok() && doc->is_object()) d = DecisionFromJson(doc->get_object());
  if (!d || (!d->tool.empty() && d->tool != input.tool_name)) {
    return Deny(input.event, unavailable + "the daemon's answer is not this call's decision)");
  }
  if (d->verdict == Verdict::kApprovalRequired) return RunHookDaemon(opt, input, deadline);
  return PrintVerdict(opt, *d, input);
}

// The store's WAL size past which a hook closes the store (a checkpoint that empties the
// WAL) instead of exiting at once: between two such closes each invocation's first
// opener reads the WAL back (SQLite's recovery of its index), so it stays small.
constexpr off_t kHookWalCloseBytes = 1 << 20;

// Called once the answer is printed, flushed and durable (Guard::Decide returns after
// the store's fsync): ends the process without the store's close, whose checkpoint
// costs two fsyncs and leaves an empty WAL that the next invocation's first commit pays
// two more to start (WAL header, directory). Claude Code waits for the hook's exit, so
// that is on every call's path. SQLite treats the ended process like a crash, which its
// WAL is built for: nothing committed is lost. A WAL past kHookWalCloseBytes, or one
// that cannot be measured, takes the ordinary close.
void ExitAnswered(const std::string& store_path, int code) {
  if (!std::cout.flush()) return;
  struct stat wal {};
  if (::stat((store_path + "-wal").c_str(), &wal) != 0 || wal.st_size > kHookWalCloseBytes) {
    return;
  }
  std::cerr.flush();
  std::_Exit(code);
}

// What the standalone hook decides with: the policy set, the agent and the embedded store.
struct Standalone {
  std::shared_ptr<const policy::PolicySet> set;
  std::string agent_id;
  std::unique_ptr<core::Store> store;
  std::string store_path;
};

// Loads the policy (with ${workspace} from --workspace or the input's cwd) and opens the
// store; an error is the sentence a deny (or a PostToolUse note) gives.
Result<Standalone> OpenStandalone(const CommandHookOptions& opt, const HookInput& input) {
  if (opt.policy.empty()) return Error::Invalid("no --policy given");
  if (opt.stores == nullptr) return Error::Unavailable("no local store to decide with");
  // ${workspace} is the session's cwd from the hook input, never the hook's own current
  // directory: a missing or relative cwd is passed on as not absolute, so a policy that
  // uses ${workspace} fails to load and the call is denied; one that does not, loads.
  // --workspace pins it instead: Claude Code's cwd follows a `cd` in the Bash tool.
  std::string workspace;
  if (!opt.workspace.empty()) {
    auto pinned = core::WorkspaceDir(opt.workspace);
    if (!pinned.ok()) return Error::Invalid("--workspace: " + pinned.error().message);
    workspace = std::move(*pinned);
  } else {
    workspace = input.cwd.empty() ? std::string("(no cwd in the hook input)") : input.cwd;
  }
  std::string workspace_problem;
  auto set = core::LoadPolicyFile(opt.policy, std::move(workspace), &workspace_problem);
  if (!set.ok()) {
    if (!workspace_problem.empty()) {
      if (!opt.workspace.empty()) {
        return Error::Invalid("policy " + opt.policy + " uses ${workspace} and --workspace " +
                              opt.workspace + " is not usable (" + workspace_problem +
                              "); call denied");
      }
      return Error::Invalid(
          "policy " + opt.policy +
          " uses ${workspace}, which the hook takes from the hook input's cwd, and " +
          (input.cwd.empty() ? std::string("the hook input has no cwd")
                             : "the cwd '" + input.cwd + "' is not usable") +
          " (" + workspace_problem + "); call denied");
    }
    return Error::Invalid("policy " + opt.policy + " is invalid: " + set.error().message);
  }
  Standalone out;
  out.agent_id = opt.agent;
  if (out.agent_id.empty()) {
    if ((*set)->agents.size() != 1) {
      return Error::Invalid("policy " + opt.policy + " holds " +
                            std::to_string((*set)->agents.size()) + " agents; pass --agent ID");
    }
    out.agent_id = (*set)->agents.begin()->first;
  }
  out.set = std::move(*set);
  out.store_path = opt.store;
  if (out.store_path.empty()) {
    auto p = DefaultStorePath();
    if (!p.ok()) return p.error();
    out.store_path = *p;
  }
  if (Status st = opt.stores->PreparePlace(out.store_path, opt.create, "hook"); !st.ok()) {
    return Error::Unavailable("store unavailable: " + st.error().message);
  }
  // One-shot: the hook decides once (PostToolUse: a lookup and a write) and exits.
  auto store =
      opt.stores->Open(out.store_path, /*durable_full=*/true, core::LocalStoreUse::kOneShot);
  if (!store.ok()) return Error::Unavailable("store unavailable: " + store.error().message);
  out.store = std::move(*store);
  return out;
}

// Decides `call` for the standalone hook under the tool use's key (ToolUseKeyOf): the
// events of one tool use share it, so a PermissionRequest after its PreToolUse is answered
// the first answer again (nothing recorded or counted), and a resent PermissionDenied is
// recorded once.
core::GuardResponse DecideKeyed(core::Guard& guard, const std::string& agent_id,
                                const std::string& run_id, ToolCall call, const HookInput& input) {
  HookToolUseKey k = ToolUseKeyOf(input);
  return AwaitCallback<core::GuardResponse>([&](auto done) {
    guard.DecideAsync(agent_id, agent_id, run_id, std::move(call), std::move(done), {},
                      core::IdempotencyKey{std::move(k.key), std::move(k.request_sha256)});
  });
}

// ---- PostToolUse ----------------------------------------------------------------------

// The reviewer name an approval given at Claude Code's permission prompt is recorded under.
constexpr char kClaudeCodeUser[] = "claude-code-user";
// How many of the session's most recent calls a PostToolUse looks through.
constexpr size_t kPostToolUseLookback = 1000;

// A PostToolUse hook cannot block anything (the tool already ran): every outcome is a
// line on stderr and exit 0; stdout stays empty.
int PostNote(const std::string& message) {
  std::cerr << "interlock hook (PostToolUse): " << message << std::endl;
  return kExitOk;
}

// The call of the session's run that this PostToolUse reports on: the newest call of the
// same tool with the same arguments that the PreToolUse hook allowed (and that has no
// result yet) or answered `ask` (its approval still pending). Arguments compare as
// recorded: an allowed call's stored arguments against the input's, redacted with the
// store's key and the rule's redact fields; an asked call by its approval's SHA-256 of the
// arguments as sent. Nothing else matches: never a call of another session (another run),
// tool or argument.
struct Match {
  std::string call_id;
  bool asked = false;  // decided approval_required; its approval is pending
};

Result<Match> FindDecidedCall(core::Calls& calls, const std::string& run_id, const HookInput& input,
                              const core::StoreRedaction& redaction,
                              const std::vector<std::string>& redact_fields) {
  auto found = calls.FindUnreported(
      run_id, input.tool_name, redaction.RecordedArgs(input.tool_input, redact_fields),
      Sha256Hex(CanonicalJson(json::value(input.tool_input))), kPostToolUseLookback);
  if (!found.ok()) return found.error();
  if (found->has_value()) return Match{(*found)->call_id, (*found)->pending_approval};
  return Error{ErrorKind::kNotFound,
               "no call of this session (run " + run_id + ") of tool " + input.tool_name +
                   " with these arguments was allowed or answered `ask` by the PreToolUse hook "
                   "and is still without a result"};
}

// The string values of the redacted fields: masked out of the recorded output, so a secret
// redacted from the call's arguments is not stored in its result either.
std::vector<std::string> RedactedValues(const json::object& args,
                                        const std::vector<std::string>& fields) {
  std::vector<std::string> out;
  for (const std::string& f : fields) {
    const json::value* v = args.if_contains(f);
    if (v == nullptr) continue;
    std::string text = v->is_string() ? std::string(v->get_string()) : CanonicalJson(*v);
    if (!text.empty()) out.push_back(std::move(text));
  }
  return out;
}

// Whether the tool reported an error (tool_response.is_error), and the result as recorded.
core::CallResult PostResult(const HookInput& input, const std::vector<std::string>& masked) {
  core::CallResult result;
  const json::value* is_error = input.tool_response.is_object()
                                    ? input.tool_response.get_object().if_contains("is_error")
                                    : nullptr;
  result.ok = !(is_error != nullptr && is_error->is_bool() && is_error->get_bool());
  json::value output = input.tool_response;
  core::StoreRedaction::MaskSecrets(&output, masked);
  result.output_json = CanonicalJson(output);
  return result;
}

// --daemon, a PostToolUse this hook has no allowed call for (none remembered: the
// PreToolUse denied it, held it for approval, never saw it, or the input has no
// tool_use_id): reported to the daemon's HTTP hook (POST /v1/hooks/claude-code), the one
// place that pairs it with the tool use's decision and records it: an incident when the
// call was denied or held (HookRanAnywayCall), a call that ran undecided when it was
// never decided, the result when the daemon allowed it after all.
int ReportToDaemonHook(const CommandHookOptions& opt, const HookInput& input,
                       const std::string& why) {
  auto daemon = OpenHookDaemon(opt);
  if (!daemon.ok()) return PostNote(why + "; " + daemon.error().message + "; nothing recorded");
  json::object body{{"hook_event_name", HookEventName(input.event)},
                    {"session_id", input.session_id},
                    {"tool_name", input.tool_name},
                    {"tool_input", input.tool_input},
                    {"tool_response", input.tool_response}};
  if (!input.tool_use_id.empty()) body["tool_use_id"] = input.tool_use_id;
  if (!input.cwd.empty()) body["cwd"] = input.cwd;
  if (!input.permission_mode.empty()) body["permission_mode"] = input.permission_mode;
  auto reply = (*daemon)->Exchange("POST", "/v1/hooks/claude-code", json::serialize(body),
                                   std::chrono::seconds(15));
  if (!reply.ok()) {
    return PostNote(why + "; could not report it to the daemon: " + reply.error().message);
  }
  if (reply->status != 200 || reply->body != "{}") {
    return PostNote(why + "; the daemon refused the report (HTTP " + std::to_string(reply->status) +
                    "): " + reply->body.substr(0, 512));
  }
  // UNDECIDED here as standalone (no call of this hook to pair it with); the daemon pairs it
  // with what it decided.
  return PostNote("UNDECIDED: " + why +
                  "; reported to the daemon, which records it (an incident when it "
                  "denied the call or held it for approval)");
}

// --daemon: the result goes to the call the PreToolUse hook decided for this tool use
// (CallMapPath), POST /v1/calls/{id}/result: an output over 64 KiB cut for the request
// (core::OutputCutForTransport), masked, cut and recorded by the daemon. Anything else
// (ReportToDaemonHook): the daemon pairs it with what it decided.
int RunPostToolUseDaemon(const CommandHookOptions& opt, const HookInput& input) {
  if (input.tool_use_id.empty()) {
    return ReportToDaemonHook(opt, input,
                              "the PostToolUse input has no tool_use_id, so it cannot be paired "
                              "with a call the PreToolUse hook allowed");
  }
  auto path = CallMapPath(input.session_id, input.tool_use_id);
  if (!path.ok()) return PostNote(path.error().message + "; nothing recorded");
  auto memo = ReadCallMemo(*path);
  if (!memo.ok()) {
    return ReportToDaemonHook(opt, input,
                              "Claude Code reports that " + input.tool_name + " ran (tool use " +
                                  input.tool_use_id.substr(0, 100) +
                                  "), but no PreToolUse of this hook allowed it (" +
                                  memo.error().message + ")");
  }
  const std::string& call_id = memo->call_id;
  auto daemon = OpenHookDaemon(opt);
  if (!daemon.ok()) return PostNote(daemon.error().message + "; nothing recorded");
  core::CallResult r = PostResult(input, {});
  mcp::ToolResult result;
  result.ok = r.ok;
  result.output_json = std::move(r.output_json);
  if (Status s = (*daemon)->RecordResult(call_id, result); !s.ok()) {
    return PostNote("could not record the result of call " + call_id +
                    " in the daemon: " + s.error().message);
  }
  std::error_code ec;
  std::filesystem::remove(*path, ec);
  return PostNote("recorded the result of call " + call_id + " in the daemon");
}

// Standalone, a PostToolUse for a call the PreToolUse hook never decided (not registered,
// bypassed, or another session): recorded through the core as a refused call (rule
// "hook.post-tool-use", INVALID_REQUEST) whose reason says it ran, with its output's size and
// SHA-256, so it is in the audit trail rather than dropped.
int RecordUndecided(const CommandHookOptions& opt, Standalone& env, const HookInput& input,
                    const std::string& run_id, const std::string& why) {
  SystemClock clock;
  core::PolicySource source(env.set);
  if (auto run = core::Calls(env.store.get(), &source, &clock).StartRun(env.agent_id, run_id);
      !run.ok() && run.error().kind != ErrorKind::kAlreadyExists) {
    return PostNote(why + "; could not record it either: " + run.error().message);
  }
  core::Guard guard(&source, env.store.get(), &clock, nullptr);
  core::GuardResponse r =
      guard.Decide(env.agent_id, env.agent_id, run_id, HookReportedCall(input, why));
  (void)opt;
  if (r.call_id.empty()) return PostNote(why + "; could not record it: " + r.decision.reason);
  return PostNote("UNDECIDED: " + why + "; recorded as call " + r.call_id);
}

int RunPostToolUse(const CommandHookOptions& opt, const HookInput& input) {
  if (!opt.daemon.empty()) return RunPostToolUseDaemon(opt, input);
  auto env = OpenStandalone(opt, input);
  if (!env.ok()) return PostNote(env.error().message + "; nothing recorded");
  const std::vector<std::string> redact_fields =
      core::RedactFieldsOf(*env->set, env->agent_id, input.tool_name);
  auto redaction = core::StoreRedaction::ForStore(env->store_path);
  if (!redaction.ok()) return PostNote("audit key unavailable: " + redaction.error().message);
  const std::string run_id = RunIdForSession(input.session_id);
  SystemClock clock;
  core::PolicySource source(env->set);
  core::Calls calls(env->store.get(), &source, &clock);
  auto match = FindDecidedCall(calls, run_id, input, *redaction, redact_fields);
  if (!match.ok()) {
    if (match.error().kind != ErrorKind::kNotFound) return PostNote(match.error().message);
    return RecordUndecided(opt, *env, input, run_id, match.error().message);
  }

  if (match->asked) {
    // The tool ran, so the person at Claude Code's prompt approved it: that is recorded as
    // their vote through the core's one "answer at the client" use case (the same facts and
    // re-checks as a reviewer's vote, the record limit included), then the call released.
    core::Approvals::LocalAnswer local;
    local.call_id = match->call_id;
    local.agent_id = env->agent_id;
    local.principal = env->agent_id;  // decided with the agent id as principal (guard.Decide)
    local.reviewer = kClaudeCodeUser;
    local.approve = true;
    local.comment = "approved at Claude Code's permission prompt (the PostToolUse hook saw it run)";
    local.where = "at Claude Code's permission prompt";
    local.policies = env->set;
    auto released = calls.approvals().AnswerAsLocalUser(local);
    if (!released.ok() || released->record.decision.verdict != Verdict::kAllow) {
      // The tool ran although Interlock did not grant it (the run's record limit, a kill
      // switch, a halted run, a self-approval): on record as a call that ran undecided.
      return RecordUndecided(
          opt, *env, input, run_id,
          "call " + match->call_id + " ran but Interlock did not grant and release it (" +
              (released.ok() ? released->record.decision.reason : released.error().message) +
              "); its result is not recorded");
    }
  }
  core::CallResult result = PostResult(input, RedactedValues(input.tool_input, redact_fields));
  // The PreToolUse hook's process kept the redacted values in its memory, not this one's: the
  // tool use carries them again, and the core masks only with values whose HMACs match the
  // call's record (core::RedactedValues), so a wrong one cannot unmask anything.
  result.redacted_args = core::StoreRedaction::PickRedacted(input.tool_input, redact_fields);
  if (Status s = calls.RecordResult(match->call_id, env->agent_id, env->agent_id, result);
      !s.ok()) {
    return PostNote("could not record the result of call " + match->call_id + ": " +
                    s.error().message);
  }
  return PostNote("recorded the result of call " + match->call_id +
                  (match->asked ? " (approved at Claude Code's prompt)" : ""));
}

// ---- PermissionDenied ------------------------------------------------------------------

// A denial Claude Code made on its own (the auto-mode classifier, a deny rule): recorded in
// the session's run as a refused call (HookReportedCall, rule
// claude-code.permission-denied), as the daemon's HTTP hook records it; standalone under
// the tool use's key (a resent report is recorded once). Answers `{}` (nothing to decide:
// the call is denied already) and says on stderr what was recorded.
int RecordPermissionDenied(const CommandHookOptions& opt, const HookInput& input) {
  auto note = [&input](const std::string& message) {
    std::cerr << "interlock hook (PermissionDenied): " << message << std::endl;
    return Print(input.event, {HookVerdict::kNoDecision, ""});
  };
  std::string call_id;
  if (!opt.daemon.empty()) {
    auto daemon = OpenHookDaemon(opt);
    if (!daemon.ok()) return note(daemon.error().message + "; nothing recorded");
    auto out = DecideInSessionRun(**daemon, input, HookReportedCall(input));
    if (!out.ok()) return note("no daemon run for this session (" + out.error().message + ")");
    if (out->call_id.empty()) return note("not recorded: " + out->decision.reason);
    call_id = out->call_id;
  } else {
    auto env = OpenStandalone(opt, input);
    if (!env.ok()) return note(env.error().message + "; nothing recorded");
    SystemClock clock;
    core::PolicySource source(env->set);
    const std::string run_id = RunIdForSession(input.session_id);
    if (auto run = core::Calls(env->store.get(), &source, &clock).JoinRun(env->agent_id, run_id);
        !run.ok()) {
      return note("cannot create the run for this session: " + run.error().message);
    }
    core::Guard guard(&source, env->store.get(), &clock, nullptr);
    core::GuardResponse r =
        DecideKeyed(guard, env->agent_id, run_id, HookReportedCall(input), input);
    if (r.call_id.empty()) return note("not recorded: " + r.decision.reason);
    call_id = r.call_id;
  }
  return note("Claude Code's denial of " + input.tool_name + " recorded as call " + call_id);
}

// ---- PreToolUse and PermissionRequest -----------------------------------------------------

// Standalone: decides the call in the session's run, answered in the event's shape.
int RunHookStandalone(const CommandHookOptions& opt, const HookInput& input) {
  auto env = OpenStandalone(opt, input);
  if (!env.ok()) return Deny(input.event, env.error().message);
  // On stderr, which Claude Code does not parse for an exit-0 hook: stdout stays the one
  // JSON object of the hook contract.
  core::WarnShadowMode(*env->set, env->agent_id, std::cerr);
  const std::string& agent_id = env->agent_id;

  SystemClock clock;
  core::PolicySource source(env->set);
  const std::string run_id = RunIdForSession(input.session_id);
  // Joined with a read when the run exists (every call of a session but its first): a
  // CreateRun that finds it would still be a commit and an fsync.
  core::Calls calls(env->store.get(), &source, &clock);
  if (auto run = calls.JoinRun(agent_id, run_id); !run.ok()) {
    return Deny(input.event, "cannot create the run for this session: " + run.error().message);
  }
  // Claude Code never tells a PreToolUse hook that the developer declined an `ask`, so
  // such a call's approval would stay pending for good. Without a daemon (and its
  // sweeper), each invocation times out the approvals past their deadline (the policy's
  // approval_timeout_seconds, else 300 s): the record ends in APPROVAL_TIMEOUT. Best
  // effort: a failure leaves them pending and changes no decision.
  (void)calls.approvals().ExpireOverdue();
  core::Guard guard(&source, env->store.get(), &clock, nullptr);
  // Under the tool use's key: a PermissionRequest after its PreToolUse is answered the
  // verdict already given (an `ask` shows the dialog), decided and counted once.
  core::GuardResponse r = DecideKeyed(guard, agent_id, run_id, HookCall(input), input);
  const int code = r.decision.verdict == Verdict::kApprovalRequired
                       ? PrintStandaloneApproval(r.decision, input)
                       : PrintVerdict(opt, r.decision, input);
  ExitAnswered(env->store_path, code);
  return code;
}

// A hook input the hook will not serve: a deny in the shape of the event the entry is
// registered for (--event), or with --event auto of the event the input names (else
// PreToolUse's); a report event (PostToolUse, PermissionDenied) has nothing to deny: a
// note on stderr, and `{}` for PermissionDenied.
int Refuse(std::optional<HookEvent> configured, const std::string& raw, const std::string& why) {
  const HookEvent shape = configured.value_or(NamedHookEvent(raw).value_or(HookEvent::kPreToolUse));
  if (shape == HookEvent::kPostToolUse) return PostNote(why + "; nothing recorded");
  if (shape == HookEvent::kPermissionDenied) {
    std::cerr << "interlock hook (PermissionDenied): " << why << "; nothing recorded" << std::endl;
  }
  return Deny(shape, why);
}

int RunHook(const CommandHookOptions& opt) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(opt.approval_wait_seconds);
  const std::optional<HookEvent> configured = HookEventOfFlag(opt.event);  // none: auto
  std::string raw;
  if (!ReadStdin(&raw)) {
    return Refuse(configured, "",
                  "could not read the hook input (unreadable or over " +
                      std::to_string(kMaxHookInputBytes) + " bytes)");
  }
  auto input = configured ? ParseHookInput(raw, *configured) : ParseAnyHookInput(raw);
  if (!input.ok()) return Refuse(configured, raw, input.error().message);
  switch (input->event) {
    case HookEvent::kPostToolUse:
      return RunPostToolUse(opt, *input);
    case HookEvent::kPermissionDenied:
      return RecordPermissionDenied(opt, *input);
    case HookEvent::kPermissionRequest:
      if (!opt.daemon.empty()) return RunPermissionRequestDaemon(opt, *input, deadline);
      break;
    case HookEvent::kPreToolUse:
      if (!opt.daemon.empty()) return RunHookDaemon(opt, *input, deadline);
      break;
    case HookEvent::kSubagentStart:
    case HookEvent::kSubagentStop:
      // Child runs per sub-agent are the daemon's HTTP hook's (docs/governance.md#child-runs);
      // here a sub-agent's calls are decided in its session's run. Nothing to decide.
      std::cerr << "interlock hook (" << HookEventName(input->event)
                << "): sub-agents run as child runs through the daemon's HTTP hook only; "
                   "nothing recorded"
                << std::endl;
      std::cout << HookAnswerJson(input->event, {HookVerdict::kNoDecision, ""}) << std::endl;
      return 0;
  }
  return RunHookStandalone(opt, *input);
}

// The shape of a deny for an exception: the configured event's (auto: PreToolUse's).
HookEvent InternalErrorShape(const CommandHookOptions& opt) {
  return HookEventOfFlag(opt.event).value_or(HookEvent::kPreToolUse);
}

}  // namespace

int RunCommandHook(const CommandHookOptions& opt) {
  try {
    return RunHook(opt);
  } catch (const std::exception& e) {
    return Deny(InternalErrorShape(opt), std::string("internal error: ") + e.what());
  } catch (...) {
    return Deny(InternalErrorShape(opt), "internal error");
  }
}

}  // namespace interlock::claude_code
