// `interlock decide`: decide a scripted run read as JSON lines on stdin.
//
// Each line is one call of the same run; each gets one decision line on stdout, in
// order. It goes through the same Guard as the daemon, on an in-memory run store.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/json_write.h"
#include "common/time.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "core/run_store.h"
#include "engine/call_parser.h"
#include "mcp/framing.h"
#include "policy/loader.h"
#include "policy/workflow.h"

namespace interlock::cli {
namespace {

struct DecideOptions {
  std::string policy;
  std::string agent;
  std::string now;
  std::string run_id = "cli-run";
  std::string workspace;  // ${workspace}; empty: the current directory
};

// A bounded queue of batches between two of `decide`'s threads (reader -> decider ->
// writer). Batches, not items, cross it: one lock and at most one wake-up per batch.
// Close(): the producer is done, the consumer drains what is queued. Abort(): stop now,
// both sides (a write failed); what is queued is dropped.
template <typename Batch>
class Handoff {
 public:
  explicit Handoff(size_t max_batches) : max_(max_batches) {}

  // False once aborted (the batch is dropped).
  bool Push(Batch&& batch, bool flush) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return aborted_ || queue_.size() < max_; });
    if (aborted_) return false;
    queue_.push_back(Entry{std::move(batch), flush});
    not_empty_.notify_one();
    return true;
  }
  // False when closed and drained, or aborted.
  bool Pop(Batch* batch, bool* flush) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return aborted_ || closed_ || !queue_.empty(); });
    if (aborted_ || queue_.empty()) return false;
    *batch = std::move(queue_.front().batch);
    *flush = queue_.front().flush;
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }
  // Without waiting: false (the batch left with the caller) when full or aborted.
  bool TryPush(Batch&& batch) {
    std::lock_guard lock(mu_);
    if (aborted_ || queue_.size() >= max_) return false;
    queue_.push_back(Entry{std::move(batch), false});
    not_empty_.notify_one();
    return true;
  }
  // Without waiting: false when nothing is queued.
  bool TryPop(Batch* batch) {
    std::lock_guard lock(mu_);
    if (aborted_ || queue_.empty()) return false;
    *batch = std::move(queue_.front().batch);
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void Abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    queue_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  struct Entry {
    Batch batch;
    bool flush;  // the input would block after this batch: flush the output after it
  };
  const size_t max_;
  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Entry> queue_;
  bool closed_ = false;
  bool aborted_ = false;
};

// Reads stdin in blocks and splits it into lines, for the reader thread. `would_block`
// runs before a read that would wait (nothing waiting on stdin): the reader hands over
// what it has with a flush mark, so the answers to every line read so far go out before
// decide waits for the next one. A line typed on a terminal or sent by a driver that
// waits for the answer is answered at once; a batch (a file, or a pipe fed faster than it
// is decided) is written a block at a time. Stop(), from another thread, ends a read that
// waits (a write failed: nobody reads the answers).
class LineReader {
 public:
  explicit LineReader(int in_fd) : in_fd_(in_fd) {
    if (pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
  }
  // False when Stop() could not end a wait (no pipe to wake it with): decide refuses to
  // start rather than risk hanging on a closed stdout.
  bool ok() const { return wake_[0] >= 0; }
  ~LineReader() {
    for (int fd : wake_) {
      if (fd >= 0) close(fd);
    }
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  void Stop() {
    stopped_.store(true);
    if (wake_[1] >= 0) {
      const char c = 0;
      while (write(wake_[1], &c, 1) < 0 && errno == EINTR) {
      }
    }
  }

  // Reads one line of at most `max` bytes (without its '\n'). A longer line is consumed
  // whole and reported as oversized, so one hostile line cannot exhaust memory or
  // desynchronise the stream. False at end of input, on a read error or after Stop(),
  // with nothing read.
  template <typename WouldBlock>
  bool ReadLine(size_t max, std::string* line, bool* oversized, WouldBlock&& would_block) {
    line->clear();
    *oversized = false;
    bool any = false;
    for (;;) {
      if (pos_ == size_ && !Fill(would_block)) return any;
      any = true;
      const char* begin = buf_.get() + pos_;
      const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', size_ - pos_));
      const size_t end = nl == nullptr ? size_ : static_cast<size_t>(nl - buf_.get());
      const size_t take = std::min(end - pos_, max - std::min(max, line->size()));
      line->append(begin, take);
      if (end - pos_ > take) *oversized = true;
      pos_ = end;
      if (nl != nullptr) {
        ++pos_;
        return true;
      }
    }
  }

 private:
  static constexpr size_t kInBlock = 64 * 1024;

  template <typename WouldBlock>
  bool Fill(WouldBlock& would_block) {
    pos_ = size_ = 0;
    if (stopped_.load()) return false;
    pollfd p[2] = {{in_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int ready;
    while ((ready = poll(p, 1, 0)) < 0 && errno == EINTR) {
    }
    if (ready == 0 && !would_block()) return false;
    for (;;) {
      // Waits for input or Stop(). A non-blocking stdin (inherited O_NONBLOCK) is waited
      // on, not taken for its end.
      while ((ready = poll(p, 2, -1)) < 0 && errno == EINTR) {
      }
      if (stopped_.load() || (p[1].revents & POLLIN) != 0) return false;
      const ssize_t got = read(in_fd_, buf_.get(), kInBlock);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) return false;
      size_ = static_cast<size_t>(got);
      return true;
    }
  }

  int in_fd_;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stopped_{false};
  std::unique_ptr<char[]> buf_{new char[kInBlock]};
  size_t pos_ = 0;
  size_t size_ = 0;
};

// Buffered stdout for the writer thread: written when the buffer is large, when asked to
// (the input would block) and at the end.
class LineWriter {
 public:
  explicit LineWriter(int out_fd) : out_fd_(out_fd) {}

  std::string& buffer() { return out_; }
  // False once a write has failed (stdout closed).
  bool MaybeFlush() { return out_.size() < kOutBlock || Flush(); }
  bool Flush() {
    if (out_.empty() || failed_) return !failed_;
    failed_ = !mcp::WriteAll(out_fd_, out_);
    out_.clear();
    return !failed_;
  }

 private:
  static constexpr size_t kOutBlock = 64 * 1024;
  int out_fd_;
  std::string out_;
  bool failed_ = false;
};

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
// S,"vars":{...}} (S the initial state until the first move) and ,"labels":[...].
// Appended inside "run" by the caller; nothing for other agents (their lines stay as
// they were).
void AppendSequenceMembers(const policy::AgentPolicy* agent, const RunState& state,
                           std::string* out) {
  if (agent == nullptr) return;
  if (agent->workflow != nullptr) {
    boost::json::object vars;
    for (const auto& [k, v] : state.workflow_vars) vars[k] = v;
    out->append(",\"workflow\":");
    out->append(ToJsonText(boost::json::object{
        {"state", state.workflow_state.empty() ? agent->workflow->initial : state.workflow_state},
        {"vars", std::move(vars)}}));
  }
  if (!state.labels.empty()) {
    boost::json::array labels;
    for (const std::string& l : state.labels) labels.emplace_back(l);
    out->append(",\"labels\":");
    out->append(ToJsonText(labels));
  }
}

// Whether `s` holds `key` between double quotes ("result"). With SSE2, sixteen positions
// at a time are tested on two bytes of the quoted key, its first and last letters (not
// its quotes, which every JSON line is full of), and only those that match both are
// compared in full; else std::string_view::find.
bool ContainsQuoted(std::string_view s, std::string_view key) {
  const size_t n = key.size() + 2;  // with the quotes
  if (key.empty() || s.size() < n) return false;
  auto at = [&](size_t i) {
    return s[i] == '"' && s[i + n - 1] == '"' && s.compare(i + 1, key.size(), key) == 0;
  };
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(key.front());
  const __m128i last = _mm_set1_epi8(key.back());
  // Position i is a candidate when s[i + 1] is the key's first letter and s[i + n - 2]
  // its last; both loads stay inside s while i + n - 2 + 16 <= s.size().
  for (; i + n - 2 + 16 <= s.size(); i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i + 1));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i + n - 2));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last))));
    while (mask != 0) {
      const size_t k = i + static_cast<size_t>(std::countr_zero(mask));
      if (k + n <= s.size() && at(k)) return true;
      mask &= mask - 1;
    }
  }
#endif
  for (; i + n <= s.size(); ++i) {
    if (at(i)) return true;
  }
  return false;
}

// Whether `s` may be a result or rehearsal line: it holds "result" or "rehearsal" (quotes
// included). One pass for both keys (they share the quote and "re"): with SSE2, sixteen
// positions at a time are tested for '"', 'r', 'e' in a row, and only those are compared
// in full. A call line, the usual case, costs this one scan. ParseReportLine still looks
// for its own key, so this only skips work, never decides anything.
bool MayBeReportLine(std::string_view s) {
  static constexpr std::string_view kKeys[] = {"\"result\"", "\"rehearsal\""};
  auto at = [&](size_t i) {
    for (std::string_view k : kKeys) {
      if (s.compare(i, k.size(), k) == 0) return true;
    }
    return false;
  };
  size_t i = 0;
#if defined(__SSE2__)
  // The three loads stay inside s while i + 2 + 16 <= s.size().
  for (; i + 2 + 16 <= s.size(); i += 16) {
    const auto* d = reinterpret_cast<const __m128i*>(s.data() + i);
    const __m128i q = _mm_cmpeq_epi8(_mm_loadu_si128(d), _mm_set1_epi8('"'));
    const __m128i r = _mm_cmpeq_epi8(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i + 1)), _mm_set1_epi8('r'));
    const __m128i e = _mm_cmpeq_epi8(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i + 2)), _mm_set1_epi8('e'));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(q, _mm_and_si128(r, e))));
    while (mask != 0) {
      if (at(i + static_cast<size_t>(std::countr_zero(mask)))) return true;
      mask &= mask - 1;
    }
  }
#endif
  for (; i + 2 < s.size(); ++i) {
    if (s[i] == '"' && s[i + 1] == 'r' && s[i + 2] == 'e' && at(i)) return true;
  }
  return false;
}

// A report line, {"<key>": {...}} and nothing else (result and rehearsal lines): the inner
// object. nullopt: the line is not one (a call line). An error: a report line that is
// malformed (`what` says what it reports). The strict parser, as for calls: a duplicate key
// or an over-deep line is no report line (ParseToolCall then refuses it with its reason),
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
      auto usage = engine::UsageFromJson(kv.value());
      if (!usage.ok()) return Result<core::CallResult>(usage.error());
      out.usage = *usage;
    } else if (kv.key() == form.extra && form.extra == "output") {
      std::string canonical = CanonicalJson(kv.value());
      if (canonical.size() > core::kMaxResultOutputBytes) {
        canonical = boost::json::serialize(boost::json::object{
            {"truncated", true}, {"bytes", canonical.size()}, {"sha256", Sha256Hex(canonical)}});
      }
      out.output_json = std::move(canonical);
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
  if (MayBeReportLine(line)) {
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
  // Parsed in place (ParseToolCallInto: ParseToolCall's parse and errors), so the call is
  // not moved through a Result on its way to the Guard.
  const Status parsed = engine::ParseToolCallInto(line, limits, &in->call);
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

int RunDecide(const DecideOptions& opt) {
  std::vector<policy::Diagnostic> diags;
  auto set =
      policy::LoadPolicySet({opt.policy}, &diags, {.workspace = opt.workspace, .getenv = {}});
  if (!set.ok()) {
    std::cerr << "interlock decide: policy " << opt.policy << " is invalid; fix it (run "
              << "`interlock check " << opt.policy << "` for details):\n"
              << set.error().message << '\n';
    return kExitUsage;
  }
  std::string agent_id = opt.agent;
  if (agent_id.empty()) {
    if ((*set)->agents.size() != 1) {
      std::cerr << "interlock decide: " << opt.policy << " holds " << (*set)->agents.size()
                << " agents; pick one with --agent ID\n";
      return kExitUsage;
    }
    agent_id = (*set)->agents.begin()->first;
  }
  TimePoint start = std::chrono::system_clock::now();
  if (!opt.now.empty()) {
    auto t = ParseRfc3339(opt.now);
    if (!t.ok()) {
      std::cerr << "interlock decide: --now: " << t.error().message << '\n';
      return kExitUsage;
    }
    start = *t;
  }

  core::PolicySource source(*set);
  // Results refer to recent calls only: a stream of any length runs in bounded memory. A
  // result line whose allowed call lies more than 1024 calls back is answered
  // "recorded": false (and moves nothing), never applied to another call.
  core::MemoryRunStore store(/*keep_calls=*/1024);
  ManualClock clock(start);
  core::Guard guard(&source, &store, &clock, nullptr);
  if (auto run = store.CreateRun(agent_id, opt.run_id, start); !run.ok()) {
    std::cerr << "interlock decide: " << run.error().message << '\n';
    return kExitFailure;
  }

  const JsonLimits limits;
  const policy::AgentPolicy* agent = (*set)->Find(agent_id);
  const bool sequences = agent != nullptr && (agent->workflow != nullptr || !agent->flows.empty());
  // A decision line, written straight into the output buffer (no JSON object built per
  // line): the decision's members, then "step" and "run", exactly as ToJsonText printed
  // the object this used to build (DecisionTest.AppendedMembersMatchDecisionToJson tests
  // the decision part; DecideCommand.OutputBytesAreExact the whole line).
  auto format_line = [agent, sequences](const Decision& d, const RunState* state,
                                        std::string* out) {
    out->push_back('{');
    AppendDecisionJsonMembers(d, out);
    if (state != nullptr) {
      AppendDecideRunMembers(*state, out);
      if (sequences) {
        out->pop_back();  // the run object's '}'
        AppendSequenceMembers(agent, *state, out);
        out->push_back('}');
      }
    }
    out->append("}\n");
  };

  // Three threads, one decision path: the reader splits and parses lines, this thread
  // decides them in order through the Guard (the only one touching the Guard and the
  // store), the writer formats and writes the answers, in the same order. Batches of
  // lines cross between them (Handoff); the reader marks a batch "flush" when stdin
  // has nothing more waiting, and the writer writes everything answered so far after
  // such a batch. So interactive use is as before (each line answered before decide
  // waits for the next), and a batch costs a few writes per 64 KiB of answers.
  constexpr size_t kBatchLines = 256;
  constexpr size_t kBatchesInFlight = 4;  // per handoff: bounded memory for any input
  Handoff<std::vector<InputLine>> lines(kBatchesInFlight);
  Handoff<AnswerBatch> answers(kBatchesInFlight);
  // Spent line batches go back to the reader, which empties and refills them: their
  // memory is reused, not allocated afresh per batch.
  Handoff<std::vector<InputLine>> spent(2 * kBatchesInFlight + 2);
  LineReader reader(STDIN_FILENO);
  if (!reader.ok()) {
    std::cerr << "interlock decide: cannot create a pipe: " << std::strerror(errno) << '\n';
    return kExitFailure;
  }
  std::atomic<bool> write_failed{false};

  std::thread read_thread([&] {
    YieldToTheDecider();
    std::vector<InputLine> batch;
    batch.reserve(kBatchLines);
    auto hand_over = [&](bool flush) {
      if (!lines.Push(std::move(batch), flush)) return false;
      batch = {};
      if (spent.TryPop(&batch)) {
        batch.clear();
      } else {
        batch.reserve(kBatchLines);
      }
      return true;
    };
    std::string line;
    bool oversized = false;
    bool ok = true;
    while (reader.ReadLine(limits.max_bytes, &line, &oversized, [&] { return hand_over(true); })) {
      if (!oversized && IsBlank(line)) continue;
      ReadInputLine(line, oversized, limits, &batch.emplace_back());
      if (batch.size() == kBatchLines && !hand_over(false)) {
        ok = false;
        break;
      }
    }
    if (ok) hand_over(true);
    lines.Close();
  });

  std::thread write_thread([&] {
    YieldToTheDecider();
    LineWriter out(STDOUT_FILENO);
    AnswerBatch batch;
    bool flush = false;
    bool ok = true;
    while (ok && answers.Pop(&batch, &flush)) {
      for (const Answer& a : batch.answers) {
        if (!a.text.empty()) {
          out.buffer().append(a.text);
        } else {
          format_line(a.response.decision, a.with_state ? &a.response.state : nullptr,
                      &out.buffer());
        }
        if (!out.MaybeFlush()) {
          ok = false;
          break;
        }
      }
      if (ok && flush) ok = out.Flush();
      // Back to the reader (or freed here when it has enough).
      spent.TryPush(std::move(batch.spent));
      batch.answers.clear();
    }
    if (ok) ok = out.Flush();
    if (!ok) {  // nobody reads the answers: stop reading and deciding
      write_failed.store(true);
      answers.Abort();
      lines.Abort();
      reader.Stop();
    }
  });

  double elapsed_s = 0;
  // Result lines report the result of the most recent allowed call, through the same
  // core function as the daemon's POST /v1/calls/{id}/result; each is answered with one
  // line: {"result":{"call_id","ok","recorded"[,"error"]},"run":{..., "workflow"}}.
  // The most recent allowed call (result lines) and REHEARSAL_REQUIRED call (rehearsal
  // lines).
  struct RecentCalls {
    std::string allowed;
    std::string awaiting_rehearsal;
  } recent;
  auto answer_result = [&](const Result<core::CallResult>& res) {
    boost::json::object r;
    Status recorded = Status::Ok();
    if (!res.ok()) {
      recorded = res.error();
    } else {
      r["ok"] = res->ok;
      if (recent.allowed.empty()) {
        recorded = Error::Invalid("no allowed call in this run has a result to report");
      } else {
        r["call_id"] = recent.allowed;
        core::CallResult result = *res;
        result.policies = source.Current();
        recorded = store.RecordResult(recent.allowed, agent_id, agent_id, result, clock.Now());
      }
    }
    r["recorded"] = recorded.ok();
    if (!recorded.ok()) r["error"] = recorded.error().message;
    std::string text = "{\"result\":";
    text.append(ToJsonText(r));
    if (Result<core::RunInfo> run = store.GetRun(opt.run_id); run.ok()) {
      RunState state = run->state;
      state.elapsed_ms = static_cast<int64_t>(elapsed_s * 1000);
      const size_t at = text.size();
      AppendDecideRunMembers(state, &text);
      // Only "run" (a result is no step): drop the leading ,"step":N.
      const size_t run_at = text.find(",\"run\":", at);
      text.erase(at, run_at - at);
      text.pop_back();
      AppendSequenceMembers(agent, state, &text);
      text.push_back('}');
    }
    text += "}\n";
    return text;
  };
  // Rehearsal lines report the outcome of the most recent REHEARSAL_REQUIRED call and are
  // answered with the real call's decision line, through Guard::CompleteRehearsal (as the
  // daemon's POST /v1/calls/{id}/rehearsal). A malformed one, or one with no rehearsal
  // awaited, is answered {"rehearsal":{"recorded":false,"error":...}} and recorded nowhere.
  auto answer_rehearsal = [&](const Result<core::CallResult>& res, Answer* a) {
    std::string call_id;
    std::string error;
    if (!res.ok()) {
      error = res.error().message;
    } else if (recent.awaiting_rehearsal.empty()) {
      error = "no rehearsal_required call in this run awaits a rehearsal";
    } else {
      call_id = std::move(recent.awaiting_rehearsal);
      recent.awaiting_rehearsal.clear();
      core::GuardResponse g =
          guard.CompleteRehearsal(agent_id, agent_id, call_id, *res, std::nullopt);
      if (!g.error) {
        if (g.decision.verdict == Verdict::kAllow && !g.call_id.empty()) recent.allowed = g.call_id;
        if (g.decision.verdict == Verdict::kRehearsalRequired && !g.call_id.empty()) {
          recent.awaiting_rehearsal = g.call_id;
        }
        g.state.elapsed_ms = static_cast<int64_t>(elapsed_s * 1000);
        a->response = std::move(g);
        a->with_state = true;
        return;
      }
      error = g.decision.reason;
    }
    boost::json::object r{{"recorded", false}, {"error", error}};
    if (!call_id.empty()) r["call_id"] = call_id;
    a->text = "{\"rehearsal\":" + ToJsonText(r) + "}\n";
  };
  auto deny = [&agent_id](Code code, std::string why, const char* rule, Answer* a) {
    a->response.decision = DenyDecision(code, std::move(why), rule);
    a->response.decision.agent_id = agent_id;
  };

  bool flush = false;
  for (;;) {
    AnswerBatch out;
    if (!lines.Pop(&out.spent, &flush)) break;
    out.answers.reserve(out.spent.size());
    for (InputLine& l : out.spent) {
      switch (l.kind) {
        case InputLine::Kind::kResult:
          out.answers.emplace_back().text = answer_result(*l.outcome);
          continue;
        case InputLine::Kind::kRehearsal:
          answer_rehearsal(*l.outcome, &out.answers.emplace_back());
          continue;
        case InputLine::Kind::kInvalid:
          deny(Code::kInvalidRequest, std::move(l.error), "request", &out.answers.emplace_back());
          continue;
        case InputLine::Kind::kCall:
          break;
      }
      // Time never runs backwards: a smaller elapsed_s than before keeps the larger.
      if (l.call.elapsed_s) elapsed_s = std::max(elapsed_s, *l.call.elapsed_s);
      clock.Set(start + std::chrono::duration_cast<TimePoint::duration>(
                            std::chrono::duration<double>(elapsed_s)));
      // The memory store decides in line: Guard::Decide answers with no promise, future
      // or callback, and its response is built in its place in the batch.
      out.answers.emplace_back(
          [&] { return guard.Decide(agent_id, agent_id, opt.run_id, std::move(l.call)); });
      const core::GuardResponse& r = out.answers.back().response;
      if (r.decision.verdict == Verdict::kAllow && !r.call_id.empty()) {
        recent.allowed = r.call_id;
      } else if (r.decision.verdict == Verdict::kRehearsalRequired && !r.call_id.empty()) {
        recent.awaiting_rehearsal = r.call_id;
      }
    }
    if (!answers.Push(std::move(out), flush)) break;
  }
  answers.Close();
  read_thread.join();
  write_thread.join();
  if (write_failed.load()) {
    std::cerr << "interlock decide: cannot write to stdout\n";
    return kExitFailure;
  }
  return kExitOk;
}

void AddDecide(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<DecideOptions>();
  CLI::App* cmd = app.add_subcommand(
      "decide",
      "Decide a run read from stdin: one JSON call per line, "
      "{\"tool\":...,\"args\":{...},\"usage\":{\"tokens\":N,\"cost_usd\":X},\"elapsed_s\":S}; "
      "writes one decision per line. Blank lines are skipped.");
  cmd->add_option("--policy", opt->policy, "Policy file or directory")->required();
  cmd->add_option("--agent", opt->agent, "Agent id (required when PATH holds several)");
  cmd->add_option("--now", opt->now, "Run start time, RFC 3339 (default: now)");
  cmd->add_option("--run", opt->run_id, "Run id to report (default: cli-run)");
  cmd->add_option("--workspace", opt->workspace,
                  "The directory ${workspace} stands for (default: the current directory)");
  cmd->callback([opt, exit_code] { *exit_code = RunDecide(*opt); });
}

const CommandRegistration kRegistration("decide", &AddDecide);

}  // namespace
}  // namespace interlock::cli
