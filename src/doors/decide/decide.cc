#include "doors/decide/decide.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "common/fd_lines.h"
#include "common/handoff.h"
#include "common/json.h"
#include "common/json_sniff.h"
#include "common/json_write.h"
#include "common/time.h"
#include "core/app/offline_run.h"
#include "core/app/standalone.h"
#include "core/app/tool_calls.h"
#include "interlock/outcome.h"

namespace interlock::decide {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// "interlock decide: MESSAGE" on stderr; `code` (as the CLI's Fail).
int Fail(std::string_view message, int code = kExitUsage) {
  std::cerr << "interlock decide: " << message << '\n';
  return code;
}
int Fail(const Error& e, int code = kExitUsage) { return Fail(e.message, code); }

// The members `interlock decide` adds after the decision's: the step and the run's
// totals after this call.
void AppendDecideRunMembers(const RunState& state, std::string* out) {
  using namespace std::string_view_literals;  // sized literals: no strlen per member
  // The integers written into one stack buffer and appended at once (as AppendJsonUint
  // prints them: std::to_chars, decimal).
  char buf[128];
  char* p = buf;
  auto put = [&p](std::string_view s) { p = std::copy(s.begin(), s.end(), p); };
  auto num = [&p](uint64_t n) { p = std::to_chars(p, p + 20, n).ptr; };
  put(",\"step\":"sv);
  num(state.steps);
  put(",\"run\":{\"steps\":"sv);
  num(state.steps);
  put(",\"tokens\":"sv);
  num(state.tokens);
  put(",\"cost_usd\":"sv);
  out->append(buf, static_cast<size_t>(p - buf));
  AppendJsonScaled(state.cost_micros, 6, out);  // as AppendJsonDouble(cost_micros / 1e6)
  out->append(",\"elapsed_s\":"sv);
  AppendJsonScaled(state.elapsed_ms, 3, out);  // as AppendJsonDouble(elapsed_ms / 1e3)
  out->append(state.halted ? ",\"halted\":true}"sv : ",\"halted\":false}"sv);
}

// The run's sequence state, for an agent with a workflow or labels: ,"workflow":{"state":
// S,"vars":{...}} (S the initial state `workflow_initial` until the first move; null: the
// agent has no workflow) and ,"labels":[...]. Appended inside "run" by the caller; nothing
// for other agents (their lines stay as they were).
void AppendSequenceMembers(const policy::AgentPolicy* agent, const std::string* workflow_initial,
                           const RunState& state, std::string* out) {
  if (agent == nullptr) return;
  if (workflow_initial != nullptr) {
    boost::json::object vars;
    for (const auto& [k, v] : state.workflow_vars) vars[k] = v;
    out->append(",\"workflow\":");
    out->append(ToJsonText(boost::json::object{
        {"state", state.workflow_state.empty() ? *workflow_initial : state.workflow_state},
        {"vars", std::move(vars)}}));
  }
  if (!state.labels.empty()) {
    boost::json::array labels;
    for (const std::string& l : state.labels) labels.emplace_back(l);
    out->append(",\"labels\":");
    out->append(ToJsonText(labels));
  }
}

// A report line, {"<key>": {...}} and nothing else (result and rehearsal lines): the inner
// object. nullopt: the line is not one (a call line). An error: a report line that is
// malformed (`what` says what it reports). The strict parser, as for calls: a duplicate key
// or an over-deep line is no report line (ReadToolCall then refuses it with its reason),
// never read one way here and another way elsewhere.
std::optional<Result<boost::json::object>> ParseReportLine(const std::string& line,
                                                           std::string_view key,
                                                           std::string_view what,
                                                           const JsonLimits& limits) {
  // The usual case, a call line that never says "<key>" (quotes included), costs one
  // search (ContainsQuoted) and no allocation.
  if (!ContainsQuoted(line, key)) return std::nullopt;
  Result<boost::json::value> v = ParseJsonStrict(line, limits);
  if (!v.ok() || !v->is_object() || !v->get_object().contains(key)) return std::nullopt;
  boost::json::object& o = v->get_object();
  if (o.size() != 1) {
    return Result<boost::json::object>(Error::Invalid("a " + std::string(key) +
                                                      " line holds only \"" + std::string(key) +
                                                      "\" (it reports " + std::string(what) + ")"));
  }
  boost::json::value& r = o.at(key);
  if (!r.is_object()) {
    return Result<boost::json::object>(Error::Invalid(std::string(key) + " must be an object"));
  }
  return Result<boost::json::object>(std::move(r.get_object()));
}

// What a result or rehearsal line reports: "ok" (required) and "error", plus the line's own
// member: "usage" (a result) or "output" (a rehearsal, size-capped as results are).
struct OutcomeLine {
  std::string_view key;    // "result" | "rehearsal"
  std::string_view what;   // what it reports, for the error of a malformed line
  std::string_view extra;  // "usage" | "output"
  std::string_view holds;  // the members, for the error of an unknown one
};

std::optional<Result<core::CallResult>> ParseOutcomeLine(const std::string& line,
                                                         const OutcomeLine& form,
                                                         const JsonLimits& limits) {
  auto report = ParseReportLine(line, form.key, form.what, limits);
  if (!report) return std::nullopt;
  if (!report->ok()) return Result<core::CallResult>(report->error());
  core::CallResult out;
  bool have_ok = false;
  for (const auto& kv : **report) {
    if (kv.key() == "ok" && kv.value().is_bool()) {
      out.ok = kv.value().get_bool();
      have_ok = true;
    } else if (kv.key() == "error" && kv.value().is_string()) {
      out.error = std::string(kv.value().get_string());
    } else if (kv.key() == form.extra && form.extra == "usage") {
      auto usage = core::ReadUsage(kv.value());
      if (!usage.ok()) return Result<core::CallResult>(usage.error());
      out.usage = *usage;
    } else if (kv.key() == form.extra && form.extra == "output") {
      out.output_json = CanonicalJson(kv.value());  // cut by the core once masked
    } else {
      return Result<core::CallResult>(Error::Invalid(
          std::string(form.key) + "." + std::string(kv.key()) + ": unknown or mistyped (" +
          std::string(form.key) + " holds " + std::string(form.holds) + ")"));
    }
  }
  if (!have_ok) {
    return Result<core::CallResult>(
        Error::Invalid(std::string(form.key) + ".ok (true|false) is required"));
  }
  return Result<core::CallResult>(std::move(out));
}

// A result line: {"result": {"ok": true|false, "error"?: "...", "usage"?: {...}}}.
std::optional<Result<core::CallResult>> ParseResultLine(const std::string& line,
                                                        const JsonLimits& limits) {
  static constexpr OutcomeLine kResult{"result", "the result of the most recent allowed call",
                                       "usage", "ok: bool, error: string, usage"};
  return ParseOutcomeLine(line, kResult, limits);
}

// A rehearsal line: {"rehearsal": {"ok": true|false, "output"?: JSON, "error"?: "..."}}.
std::optional<Result<core::CallResult>> ParseRehearsalLine(const std::string& line,
                                                           const JsonLimits& limits) {
  static constexpr OutcomeLine kRehearsal{"rehearsal",
                                          "the outcome of the most recent rehearsal_required call",
                                          "output", "ok: bool, output: JSON, error: string"};
  return ParseOutcomeLine(line, kRehearsal, limits);
}

bool IsBlank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// The decider is the pipeline's slowest stage: the reader and the writer run at a lower
// priority (nice +10 for their own thread, Linux), so that on a machine with fewer free
// cores than threads they take the time the decider leaves, not the decider's. Best
// effort: a refusal changes nothing but speed.
void YieldToTheDecider() {
  errno = 0;
  const int nice_now = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  if (errno == 0)
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), std::min(nice_now + 10, 19));
}

// A line as the reader thread leaves it for the decider: a call parsed in place, a line
// refused with its reason, or a result or rehearsal report.
struct InputLine {
  enum class Kind : uint8_t { kCall, kInvalid, kResult, kRehearsal };
  Kind kind = Kind::kCall;
  ToolCall call;
  std::string error;
  std::optional<Result<core::CallResult>> outcome;
};

// Classifies and parses one non-blank line (the reader thread's part of the work).
void ReadInputLine(const std::string& line, bool oversized, const JsonLimits& limits,
                   InputLine* in) {
  if (oversized) {
    in->kind = InputLine::Kind::kInvalid;
    in->error = "line exceeds " + std::to_string(limits.max_bytes) + " bytes";
    return;
  }
  // A call line, the usual case, costs one scan for the two keys; the parsers still look
  // for their own key, so this only skips work, never decides anything.
  if (ContainsAnyQuoted(line, {"result", "rehearsal"})) {
    if (std::optional<Result<core::CallResult>> res = ParseResultLine(line, limits)) {
      in->kind = InputLine::Kind::kResult;
      in->outcome = std::move(res);
      return;
    }
    if (std::optional<Result<core::CallResult>> res = ParseRehearsalLine(line, limits)) {
      in->kind = InputLine::Kind::kRehearsal;
      in->outcome = std::move(res);
      return;
    }
  }
  // Parsed in place (core::ReadToolCall), so the call is not moved through a Result on its
  // way to the Guard.
  const Status parsed = core::ReadToolCall(line, limits, &in->call);
  if (!parsed.ok()) {
    in->kind = InputLine::Kind::kInvalid;
    in->error = parsed.error().message;
  }
}

// What the writer thread writes for one line: a decision line (the decision, and "step"
// and "run" when the call reached the run), or a whole line given as text (result and
// rehearsal reports).
struct Answer {
  Answer() = default;
  // The decision line of a call: `decide()` returns the Guard's response, which is built
  // in this answer's place (no move of it).
  template <typename Decide>
  explicit Answer(Decide&& decide) : response(decide()), with_state(true) {}

  core::GuardResponse response;
  bool with_state = false;
  std::string text;
};

// What the decider hands the writer: the answers to a batch of lines, and the lines
// themselves, spent (their calls moved into the Guard), which the writer hands back to
// the reader to refill: nothing of them is freed on the decider's thread, the busiest.
struct AnswerBatch {
  std::vector<Answer> answers;
  std::vector<InputLine> spent;
};

// One `interlock decide` run: the policy and the run are set up by named phases, then
// three threads, one decision path: the reader splits and parses lines, the calling
// thread decides them in order through the Guard (the only one touching the Guard and
// the store), the writer formats and writes the answers, in the same order. Batches of
// lines cross between them (Handoff); the reader marks a batch "flush" when stdin has
// nothing more waiting, and the writer writes everything answered so far after such a
// batch. So interactive use is as before (each line answered before decide waits for the
// next), and a batch costs a few writes per 64 KiB of answers.
//
// Members are declared in the order they are built; the Guard goes before the store and
// the clock it uses, the handoffs and the reader outlive the threads (joined in Run()).
class DecideRun {
 public:
  explicit DecideRun(const DecideOptions& opt) : opt_(opt) {}
  DecideRun(const DecideRun&) = delete;
  DecideRun& operator=(const DecideRun&) = delete;

  int Run() {
    using Phase = int (DecideRun::*)();
    for (Phase phase : {&DecideRun::LoadPolicy, &DecideRun::ParseStart, &DecideRun::StartRun}) {
      if (const int code = (this->*phase)(); code != kExitOk) return code;
    }
    if (!reader_.ok()) {
      return Fail(std::string("cannot create a pipe: ") + std::strerror(errno), kExitFailure);
    }
    std::thread read_thread([this] { ReadLoop(); });
    std::thread write_thread([this] { WriteLoop(); });
    DecideLoop();
    answers_.Close();
    read_thread.join();
    write_thread.join();
    if (write_failed_.load()) return Fail("cannot write to stdout", kExitFailure);
    return kExitOk;
  }

 private:
  static constexpr size_t kBatchLines = 256;
  static constexpr size_t kBatchesInFlight = 4;  // per handoff: bounded memory for any input

  int LoadPolicy() {
    auto set = core::LoadPolicyFile(opt_.policy, opt_.workspace, nullptr);
    if (!set.ok()) {
      return Fail("policy " + opt_.policy + " is invalid; fix it (run `interlock check " +
                  opt_.policy + "` for details):\n" + set.error().message);
    }
    set_ = std::move(*set);
    agent_id_ = opt_.agent;
    if (agent_id_.empty()) {
      if (set_->agents.size() != 1) {
        return Fail(opt_.policy + " holds " + std::to_string(set_->agents.size()) +
                    " agents; pick one with --agent ID");
      }
      agent_id_ = set_->agents.begin()->first;
    }
    return kExitOk;
  }

  int ParseStart() {
    start_ = std::chrono::system_clock::now();
    if (!opt_.now.empty()) {
      auto t = ParseRfc3339(opt_.now);
      if (!t.ok()) return Fail("--now: " + t.error().message);
      start_ = *t;
    }
    return kExitOk;
  }

  int StartRun() {
    run_ = std::make_unique<core::OfflineRun>(set_, kKeepCalls);
    if (Status started = run_->Start(agent_id_, opt_.run_id, start_); !started.ok()) {
      return Fail(started.error(), kExitFailure);
    }
    agent_ = set_->Find(agent_id_);
    workflow_initial_ = run_->InitialWorkflowState();
    sequences_ = agent_ != nullptr && (workflow_initial_ != nullptr || !agent_->flows.empty());
    return kExitOk;
  }

  // A decision line, written straight into the output buffer (no JSON object built per
  // line): the decision's members, then "step" and "run", exactly as ToJsonText printed
  // the object this used to build (DecisionTest.AppendedMembersMatchDecisionToJson tests
  // the decision part; DecideCommand.OutputBytesAreExact the whole line).
  void AppendDecisionLine(const Decision& d, const RunState* state, std::string* out) const {
    out->push_back('{');
    AppendDecisionJsonMembers(d, out);
    if (state != nullptr) {
      AppendDecideRunMembers(*state, out);
      if (sequences_) {
        out->pop_back();  // the run object's '}'
        AppendSequenceMembers(agent_, workflow_initial_, *state, out);
        out->push_back('}');
      }
    }
    out->append("}\n");
  }

  // The reader thread: stdin, split and parsed, to the decider in batches.
  void ReadLoop() {
    YieldToTheDecider();
    std::vector<InputLine> batch;
    batch.reserve(kBatchLines);
    auto hand_over = [&](bool flush) {
      if (!lines_.Push(std::move(batch), flush)) return false;
      batch = {};
      if (spent_.TryPop(&batch)) {
        batch.clear();
      } else {
        batch.reserve(kBatchLines);
      }
      return true;
    };
    std::string line;
    bool oversized = false;
    bool ok = true;
    while (
        reader_.ReadLine(limits_.max_bytes, &line, &oversized, [&] { return hand_over(true); })) {
      if (!oversized && IsBlank(line)) continue;
      ReadInputLine(line, oversized, limits_, &batch.emplace_back());
      if (batch.size() == kBatchLines && !hand_over(false)) {
        ok = false;
        break;
      }
    }
    if (ok) hand_over(true);
    lines_.Close();
  }

  // The writer thread: the answers, in order, to stdout.
  void WriteLoop() {
    YieldToTheDecider();
    FdLineWriter out(STDOUT_FILENO);
    AnswerBatch batch;
    bool flush = false;
    bool ok = true;
    while (ok && answers_.Pop(&batch, &flush)) {
      for (const Answer& a : batch.answers) {
        if (!a.text.empty()) {
          out.buffer().append(a.text);
        } else {
          AppendDecisionLine(a.response.decision, a.with_state ? &a.response.state : nullptr,
                             &out.buffer());
        }
        if (!out.MaybeFlush()) {
          ok = false;
          break;
        }
      }
      if (ok && flush) ok = out.Flush();
      // Back to the reader (or freed here when it has enough).
      spent_.TryPush(std::move(batch.spent));
      batch.answers.clear();
    }
    if (ok) ok = out.Flush();
    if (!ok) {  // nobody reads the answers: stop reading and deciding
      write_failed_.store(true);
      answers_.Abort();
      lines_.Abort();
      reader_.Stop();
    }
  }

  // The calling thread: each batch of lines decided in order, through the Guard.
  void DecideLoop() {
    bool flush = false;
    for (;;) {
      AnswerBatch out;
      if (!lines_.Pop(&out.spent, &flush)) break;
      out.answers.reserve(out.spent.size());
      for (InputLine& l : out.spent) {
        if (l.kind == InputLine::Kind::kCall) {
          DecideCall(&l.call, &out.answers);
        } else {
          AnswerReport(&l, &out.answers.emplace_back());
        }
      }
      if (!answers_.Push(std::move(out), flush)) break;
    }
  }

  // A result or rehearsal line, or a line refused by the reader.
  void AnswerReport(InputLine* l, Answer* a) {
    switch (l->kind) {
      case InputLine::Kind::kResult:
        a->text = AnswerResult(*l->outcome);
        return;
      case InputLine::Kind::kRehearsal:
        AnswerRehearsal(*l->outcome, a);
        return;
      case InputLine::Kind::kInvalid:
        Deny(Code::kInvalidRequest, std::move(l->error), "request", a);
        return;
      case InputLine::Kind::kCall:
        return;  // DecideCall
    }
  }

  void DecideCall(ToolCall* call, std::vector<Answer>* answers) {
    // Time never runs backwards: a smaller elapsed_s than before keeps the larger.
    if (call->elapsed_s) elapsed_s_ = std::max(elapsed_s_, *call->elapsed_s);
    run_->SetTime(start_ + std::chrono::duration_cast<TimePoint::duration>(
                               std::chrono::duration<double>(elapsed_s_)));
    // The memory store decides in line: Guard::Decide answers with no promise, future
    // or callback, and its response is built in its place in the batch.
    answers->emplace_back([&] { return run_->Decide(std::move(*call)); });
    Remember(answers->back().response);
  }

  // decide's one reading of the core's outcome (interlock/outcome.h) beyond printing the
  // decision: which call a later result line or rehearsal line refers to.
  void Remember(const core::GuardResponse& r) {
    if (r.call_id.empty()) return;
    switch (r.outcome().kind) {
      case OutcomeKind::kAllow:
        recent_.allowed = r.call_id;
        return;
      case OutcomeKind::kRehearsalRequired:
        recent_.awaiting_rehearsal = r.call_id;
        return;
      case OutcomeKind::kDeny:
      case OutcomeKind::kApprovalRequired:
      case OutcomeKind::kError:
        return;
    }
  }

  // Result lines report the result of the most recent allowed call, through the same
  // core function as the daemon's POST /v1/calls/{id}/result; each is answered with one
  // line: {"result":{"call_id","ok","recorded"[,"error"]},"run":{..., "workflow"}}.
  std::string AnswerResult(const Result<core::CallResult>& res) {
    boost::json::object r;
    Status recorded = Status::Ok();
    if (!res.ok()) {
      recorded = res.error();
    } else {
      r["ok"] = res->ok;
      if (recent_.allowed.empty()) {
        recorded = Error::Invalid("no allowed call in this run has a result to report");
      } else {
        r["call_id"] = recent_.allowed;
        recorded = run_->RecordResult(recent_.allowed, *res);
      }
    }
    r["recorded"] = recorded.ok();
    if (!recorded.ok()) r["error"] = recorded.error().message;
    std::string text = "{\"result\":";
    text.append(ToJsonText(r));
    if (Result<core::RunInfo> run = run_->Run(); run.ok()) {
      RunState state = run->state;
      state.elapsed_ms = static_cast<int64_t>(elapsed_s_ * 1000);
      const size_t at = text.size();
      AppendDecideRunMembers(state, &text);
      // Only "run" (a result is no step): drop the leading ,"step":N.
      const size_t run_at = text.find(",\"run\":", at);
      text.erase(at, run_at - at);
      text.pop_back();
      AppendSequenceMembers(agent_, workflow_initial_, state, &text);
      text.push_back('}');
    }
    text += "}\n";
    return text;
  }

  // Rehearsal lines report the outcome of the most recent REHEARSAL_REQUIRED call and are
  // answered with the real call's decision line, through Guard::CompleteRehearsal (as the
  // daemon's POST /v1/calls/{id}/rehearsal). A malformed one, or one with no rehearsal
  // awaited, is answered {"rehearsal":{"recorded":false,"error":...}} and recorded nowhere.
  void AnswerRehearsal(const Result<core::CallResult>& res, Answer* a) {
    std::string call_id;
    std::string error;
    if (!res.ok()) {
      error = res.error().message;
    } else if (recent_.awaiting_rehearsal.empty()) {
      error = "no rehearsal_required call in this run awaits a rehearsal";
    } else {
      call_id = std::move(recent_.awaiting_rehearsal);
      recent_.awaiting_rehearsal.clear();
      core::GuardResponse g = run_->CompleteRehearsal(call_id, *res);
      if (!g.error) {
        Remember(g);
        g.state.elapsed_ms = static_cast<int64_t>(elapsed_s_ * 1000);
        a->response = std::move(g);
        a->with_state = true;
        return;
      }
      error = g.decision.reason;
    }
    boost::json::object r{{"recorded", false}, {"error", error}};
    if (!call_id.empty()) r["call_id"] = call_id;
    a->text = "{\"rehearsal\":" + ToJsonText(r) + "}\n";
  }

  void Deny(Code code, std::string why, const char* rule, Answer* a) const {
    a->response.decision = DenyDecision(code, std::move(why), rule);
    a->response.decision.agent_id = agent_id_;
  }

  const DecideOptions& opt_;
  std::shared_ptr<const policy::PolicySet> set_;  // LoadPolicy
  std::string agent_id_;                          //
  TimePoint start_;                               // ParseStart
  // Results refer to recent calls only: a stream of any length runs in bounded memory. A
  // result line whose allowed call lies more than kKeepCalls calls back is answered
  // "recorded": false (and moves nothing), never applied to another call.
  static constexpr size_t kKeepCalls = 1024;
  std::unique_ptr<core::OfflineRun> run_;  // StartRun
  const policy::AgentPolicy* agent_ = nullptr;
  const std::string* workflow_initial_ = nullptr;  // the agent's workflow's; null: none
  bool sequences_ = false;  // the agent has a workflow or flows: "run" says where it is
  const JsonLimits limits_;
  Handoff<std::vector<InputLine>> lines_{kBatchesInFlight};
  Handoff<AnswerBatch> answers_{kBatchesInFlight};
  // Spent line batches go back to the reader, which empties and refills them: their
  // memory is reused, not allocated afresh per batch.
  Handoff<std::vector<InputLine>> spent_{2 * kBatchesInFlight + 2};
  FdLineReader reader_{STDIN_FILENO};
  std::atomic<bool> write_failed_{false};
  // The decider thread's own: the run's elapsed time, and the most recent allowed call
  // (result lines) and REHEARSAL_REQUIRED call (rehearsal lines).
  double elapsed_s_ = 0;
  struct RecentCalls {
    std::string allowed;
    std::string awaiting_rehearsal;
  } recent_;
};

}  // namespace

int RunDecide(const DecideOptions& opt) { return DecideRun(opt).Run(); }

}  // namespace interlock::decide
