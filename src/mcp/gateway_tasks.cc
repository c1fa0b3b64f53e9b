// CallFlow (call_flow.h): the tasks extension of MCP 2026-07-28 (io.modelcontextprotocol/tasks;
// docs/mcp.md#tasks). A server may answer a 2026-07-28 client's tools/call with a task handle
// (resultType "task") when the client declared the extension; the client then polls tasks/get,
// answers the task's input requests with tasks/update and may send tasks/cancel.
//
// The gateway follows each task so that it is governed like any call:
//   - the tools/call was decided once, when it came; nothing about the task decides again;
//   - only a task this session's tools/call created can be asked about: any other id is
//     "not found" (a task id names another session's or another agent's task);
//   - tasks/get and tasks/update ask the kill switch again: an engaged switch cancels the task
//     at the server and ends it for the client (status failed, KILL_SWITCH), recorded;
//   - every answer passes the result handling: credentials masked (OnServerLine), a completed
//     result's structuredContent reduced to the tool's scope, fields a status does not carry
//     removed, input requests only of the kinds a server may send a client and never under
//     Interlock's reserved keys; this holds for every task-shaped answer (tasks/get, and a
//     tasks/update or tasks/cancel answered with the task), and an acknowledgement (no
//     status, no taskId) loses result, error and inputRequests;
//   - the call's record gets the task's outcome once, when an answer first shows it terminal
//     (completed: the tool's result; failed: the JSON-RPC error; cancelled), or "not observed"
//     when the task is evicted, outlives its ttl, or the session or server ends;
//   - a task shown terminal stays so: a later answer with another status, result or error
//     ends the task for the client (failed, cancelled at the server) and is recorded as a
//     refusal of its own.
// Task status notifications (notifications/tasks on subscriptions/listen) are not relayed:
// clients poll, the default.
#include <algorithm>
#include <chrono>

#include <boost/json.hpp>

#include "common/json.h"
#include "common/time.h"
#include "mcp/call_flow.h"
#include "mcp/framing.h"
#include "mcp/gateway_internal.h"
#include "mcp/revision.h"
#include "mcp/task_state.h"
#include "mcp/task_table.h"
#include "mcp/upstream_revision.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::Log;
using gateway_internal::Quoted;

namespace {

constexpr std::string_view kNotFound =
    "Failed to retrieve task: Task not found (Interlock: no task of this session has that id)";

}  // namespace

bool CallFlow::OpenTaskOf(json::object& msg, const Pending& p, std::string* why) {
  json::object& task = msg["result"].get_object();
  const json::value* id_value = task.if_contains("taskId");
  const bool usable_id = UsableTaskId(id_value, TaskTable::kMaxIdBytes);
  const std::string task_id = usable_id ? std::string(id_value->get_string()) : std::string();
  const json::object request{{"params", p.params}};
  if (link_.ClientIsLegacy() || !IsModern(ClientRevisionOf(request)) ||
      !DeclaresTasksExtension(request)) {
    *why =
        "the MCP server turned the call into a task (io.modelcontextprotocol/tasks), which the "
        "client did not declare it follows; the task was cancelled and the call's outcome is "
        "unknown";
  } else if (!usable_id) {
    *why =
        "the MCP server turned the call into a task without a usable taskId; the call's "
        "outcome is unknown";
  } else if (!p.outcome) {
    *why = "the MCP server turned a call Interlock cannot follow into a task";
  }
  if (why->empty()) {
    std::vector<OpenTask> ended;
    OpenTask t;
    t.outcome = p.outcome;
    t.tool = p.tool;
    t.credential_json = p.credential_json;
    t.authorization = p.authorization;
    t.created_at = StringMember(task, "createdAt");
    {
      std::lock_guard lock(mu_);
      const auto now = std::chrono::steady_clock::now();
      t.expires = now + TaskLife(task, TaskTable::kMaxLife);
      if (!tasks_.Open(task_id, std::move(t), now, &ended)) {
        *why = "the MCP server returned the id of a task already open in this session (" +
               Quoted(task_id.substr(0, 64)) + "); the call's outcome is unknown";
      }
    }
    for (const OpenTask& e : ended) {
      RecordNotObserved("", e,
                        "forgotten: over " + std::to_string(TaskTable::kMaxOpen) +
                            " tasks open, or past its ttl");
    }
  }
  if (why->empty()) {
    if (std::string refused = ApplyTaskState(task_id, p.tool, task, /*created=*/true);
        !refused.empty()) {
      *why = refused;
      std::lock_guard lock(mu_);
      tasks_.Erase(task_id);
    }
  }
  if (!why->empty()) {
    if (usable_id) CancelTaskAtServer(task_id, p.authorization);
    return false;
  }
  if (auto trace = link_.TraceOf(p.client_id)) trace->UpstreamEnded(true, "task " + task_id);
  msg["id"] = p.client_id;
  link_.AnswerClient(msg);
  return true;
}

std::string CallFlow::ApplyTaskState(const std::string& task_id, const std::string& tool,
                                     json::object& task, bool created) {
  TaskRules rules;
  rules.take_result = [&](json::value& result) { return TakeToolResult(tool, result); };
  rules.refused_input_requests = [&](const json::value* requests) {
    return RefusedInputRequests(requests);
  };
  TaskReading read = ReadTaskState(task, created, rules);
  if (!read.refused.empty()) return read.refused;
  std::string contradicted;
  TaskTable::Shown shown = TaskTable::Shown::kTaken;
  {
    std::lock_guard lock(mu_);
    std::optional<std::chrono::steady_clock::time_point> renewed;
    if (task.contains("ttlMs")) {
      renewed = std::chrono::steady_clock::now() + TaskLife(task, TaskTable::kMaxLife);
    }
    shown = tasks_.Show(task_id, read, renewed, &contradicted);
  }
  // Ended meanwhile (a kill switch, the session ending): nothing of it reaches the client
  // unrecorded.
  if (shown == TaskTable::Shown::kUnknown)
    return "the task is no longer followed through Interlock";
  if (shown == TaskTable::Shown::kContradicted) {
    // Its first outcome is recorded already (kAlreadyExists for a second): the contradiction
    // is recorded as a refusal of its own, under the tool's name.
    const json::value params = json::object{{"name", tool}};
    Enforcer::Outcome o = DecideRefusal(&params, contradicted + " (task " + task_id.substr(0, 64) +
                                                     "); refused, never shown to the client");
    Log("refused a task answer: " + contradicted + " (call " + o.call_id + ")");
    return contradicted;
  }
  if (read.terminal) (void)RecordTaskOnce(task_id, std::move(read.outcome));
  return "";
}

bool CallFlow::StoppedByKillSwitch(const std::string& task_id, const std::string& method,
                                   const json::value& id, const std::string& authorization) {
  Status s = options_.enforcer->KillSwitchClear();
  if (s.ok()) return false;
  const bool kill = s.error().kind == ErrorKind::kPermissionDenied;
  const std::string why =
      std::string(CodeName(kill ? Code::kKillSwitch : Code::kStoreUnavailable)) + ": " +
      (kill ? std::string() : "the kill switch could not be checked: ") + s.error().message +
      "; the task was cancelled";
  (void)RecordTaskOnce(task_id, ToolResult::Failure(why));
  CancelTaskAtServer(task_id, authorization);
  {
    std::lock_guard lock(mu_);
    tasks_.Erase(task_id);
  }
  if (method == "tasks/get") {
    link_.AnswerClient(ResultResponse(id, FailedTask(task_id, why)));
  } else {
    link_.AnswerClient(ErrorResponse(id, kInternalError, "Interlock: " + why));
  }
  return true;
}

bool CallFlow::RecordTaskOnce(const std::string& task_id, ToolResult r) {
  std::string call_id;
  {
    std::lock_guard lock(mu_);
    if (!tasks_.MarkRecorded(task_id, &call_id, &r.credential_json)) return false;
  }
  if (call_id.empty()) return false;
  if (options_.egress_receipts) r.egress_json = options_.egress_receipts(call_id);
  if (Status s = options_.enforcer->RecordResult(call_id, r); !s.ok()) {
    Log("could not record the outcome of task " + task_id.substr(0, 64) + " (call " + call_id +
        "): " + s.error().message);
  }
  return true;
}

bool CallFlow::RejectTaskRequest(const json::object& doc, const json::value& id,
                                 const std::string& method) {
  const bool modern = IsModern(ClientRevisionOf(doc));
  if (method != "tasks/get" && method != "tasks/update" && method != "tasks/cancel") {
    // tasks/result, tasks/list: the 2025-11-25 tasks requests, which the extension dropped
    // (a 2026-07-28 client is told the method does not exist). No 2025 task is ever created
    // through Interlock (task-augmented calls are refused), so any id names another session's.
    link_.AnswerClient(modern ? ErrorResponse(id, kMethodNotFound,
                                              "Method not found: " + Quoted(method) +
                                                  " is not a method of the tasks extension")
                              : ErrorResponse(id, kInvalidParams,
                                              "Interlock: " + Quoted(method) +
                                                  " is not forwarded (no task of the 2025-11-25 "
                                                  "revision is created through Interlock)"));
    return true;
  }
  if (modern && !DeclaresTasksExtension(doc)) {
    // The extension's rule for a client that did not declare it, whether or not the task
    // exists (so the answer tells nothing about other sessions' tasks).
    json::object error{
        {"code", kMissingRequiredClientCapability},
        {"message", "Missing required client capability"},
        {"data", json::object{{"requiredCapabilities",
                               json::object{{"extensions",
                                             json::object{{kTasksExtension, json::object{}}}}}}}}};
    link_.AnswerClient(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}});
    return true;
  }
  return false;
}

void CallFlow::HandleTaskRequest(json::value doc, const json::value& id,
                                 const std::string& method) {
  if (RejectTaskRequest(doc.get_object(), id, method)) return;
  const json::value* params = doc.get_object().if_contains("params");
  const json::value* id_value = params != nullptr && params->is_object()
                                    ? params->get_object().if_contains("taskId")
                                    : nullptr;
  if (!UsableTaskId(id_value, TaskTable::kMaxIdBytes)) {
    link_.AnswerClient(
        ErrorResponse(id, kInvalidParams, "Interlock: params.taskId must be a task id"));
    return;
  }
  const std::string task_id(id_value->get_string());
  std::vector<std::string> answered;
  if (method == "tasks/update") {
    const json::value* responses = params->get_object().if_contains("inputResponses");
    if (responses == nullptr || !responses->is_object()) {
      link_.AnswerClient(
          ErrorResponse(id, kInvalidParams, "Interlock: params.inputResponses must be an object"));
      return;
    }
    for (const auto& kv : responses->get_object()) answered.emplace_back(kv.key());
  }
  TaskTable::Followed followed;
  std::optional<OpenTask> expired;
  {
    std::lock_guard lock(mu_);
    followed = tasks_.Follow(task_id, answered, std::chrono::steady_clock::now(), &expired);
  }
  const std::shared_ptr<const Enforcer::Outcome>& outcome = followed.outcome;
  const std::string& tool = followed.tool;
  const std::string& authorization = followed.authorization;
  // inputResponses keys answering nothing outstanding
  const std::vector<std::string>& stray = followed.stray;
  if (expired) {
    RecordNotObserved(task_id, *expired, "its ttl ended");
    link_.AnswerClient(
        ErrorResponse(id, kInvalidParams, "Failed to retrieve task: Task has expired (Interlock)"));
    return;
  }
  if (!outcome) {
    link_.AnswerClient(ErrorResponse(id, kInvalidParams, kNotFound));
    return;
  }
  if (!stray.empty()) {
    // Responses to keys never asked, already answered or superseded are ignored, as the
    // extension asks of a server: removed here, so the server only ever gets answers to
    // what it asked (and a reply to nothing outstanding is acknowledged without it).
    json::object& responses =
        doc.get_object()["params"].get_object()["inputResponses"].get_object();
    for (const std::string& k : stray) responses.erase(k);
    if (responses.empty()) {
      link_.AnswerClient(ResultResponse(id, json::object{{"resultType", "complete"}}));
      return;
    }
    std::erase_if(answered, [&stray](const std::string& k) {
      return std::find(stray.begin(), stray.end(), k) != stray.end();
    });
  }
  // The task goes on under a decision made when the call came: a kill switch engaged since
  // stops it (a cancel is always let through: it stops work).
  if (method != "tasks/cancel" && StoppedByKillSwitch(task_id, method, id, authorization)) return;
  std::optional<GatewayOptions::ForwardCredential> credential;
  if (options_.credential_for) {
    auto c = options_.credential_for(outcome->decision);
    if (!c.ok()) {
      link_.AnswerClient(ErrorResponse(id, kInternalError,
                                       "Interlock: no credential for the MCP server (" +
                                           std::string(CodeName(Code::kCredentialUnavailable)) +
                                           "): " + c.error().message));
      return;
    }
    credential = std::move(*c);
  }
  std::string closed_why;
  {
    std::lock_guard lock(mu_);
    if (!link_.UpstreamClosedLocked(&closed_why)) {
      Pending p;
      p.method = method;
      p.tool = tool;
      p.task_id = task_id;
      link_.ForwardToServerLocked(doc, id, std::move(p));
      tasks_.Forwarded(task_id, credential ? &credential->authorization : nullptr, answered);
    }
  }
  if (!closed_why.empty()) {
    link_.AnswerClient(ErrorResponse(id, kInternalError,
                                     "Interlock: the MCP server is gone (" + closed_why + ")"));
    return;
  }
  if (credential && options_.to_server_authorized) {
    options_.to_server_authorized(doc, credential->authorization);
    return;
  }
  link_.SendToServer(doc);
}

void CallFlow::HandleTaskAnswer(json::object& msg, const Pending& p) {
  json::value* result = msg.if_contains("result");
  if (result != nullptr && result->is_object() && p.method != "tasks/get" &&
      !result->get_object().contains("status") && !result->get_object().contains("taskId")) {
    // tasks/update, tasks/cancel: an acknowledgement, which carries nothing of the task's
    // outcome (a result here would reach the client past the scope and the record).
    json::object& ack = result->get_object();
    for (const char* k : {"result", "error", "inputRequests"}) ack.erase(k);
    return;
  }
  // Anything task-shaped (a tasks/cancel or tasks/update answered with the task) passes the
  // rules of a tasks/get answer.
  if (result == nullptr || !result->is_object()) {
    if (p.method != "tasks/get") return;  // an error: the request failed, the task goes on
    const json::value* error = msg.if_contains("error");
    const json::value* code =
        error != nullptr && error->is_object() ? error->get_object().if_contains("code") : nullptr;
    if (code != nullptr && code->is_int64() && code->get_int64() == kInvalidParams) {
      // The server no longer knows the task (expired, purged): its outcome is not learnt.
      const json::value* m = error->get_object().if_contains("message");
      ToolResult r = ToolResult::Failure(
          "the MCP server no longer knows the task, so its outcome was not observed: " +
          (m != nullptr && m->is_string() ? std::string(m->get_string()) : std::string()));
      (void)RecordTaskOnce(p.task_id, std::move(r));
      std::lock_guard lock(mu_);
      tasks_.Erase(p.task_id);
    }
    return;
  }
  json::object& task = result->get_object();
  std::string why;
  if (const json::value* t = task.if_contains("taskId");
      t != nullptr && !(t->is_string() && t->get_string() == p.task_id)) {
    why = "the MCP server answered " + p.method + " with another task";
  } else {
    why = ApplyTaskState(p.task_id, p.tool, task);
  }
  if (why.empty()) return;
  std::string authorization;
  {
    std::lock_guard lock(mu_);
    authorization = tasks_.AuthorizationOf(p.task_id);
  }
  ToolResult r;
  r.ok = false;
  r.output_json = CanonicalJson(*result);
  r.error = why;
  (void)RecordTaskOnce(p.task_id, std::move(r));
  CancelTaskAtServer(p.task_id, authorization);
  *result = FailedTask(p.task_id, why + "; the task was cancelled");
  std::lock_guard lock(mu_);
  tasks_.Erase(p.task_id);
}

void CallFlow::CancelTaskAtServer(const std::string& task_id, const std::string& authorization) {
  json::value id;
  {
    std::lock_guard lock(mu_);
    if (link_.UpstreamClosedLocked(nullptr)) return;
    id = link_.IssueServerIdLocked();
    link_.PutCallLocked(IdKey(id), Pending::Internal("tasks/cancel"));
  }
  json::value request = json::object{
      {"jsonrpc", "2.0"},
      {"id", id},
      {"method", "tasks/cancel"},
      {"params",
       json::object{
           {"taskId", task_id},
           {"_meta",
            json::object{{kMetaClientCapabilities,
                          json::object{{"extensions",
                                        json::object{{kTasksExtension, json::object{}}}}}}}}}}};
  if (!authorization.empty() && options_.to_server_authorized) {
    options_.to_server_authorized(request, authorization);
    return;
  }
  link_.SendToServer(request);
}

json::object CallFlow::FailedTask(const std::string& task_id, const std::string& why) const {
  const std::string now = FormatRfc3339(std::chrono::system_clock::now());
  std::string created;
  {
    std::lock_guard lock(mu_);
    created = tasks_.CreatedAtOf(task_id);
  }
  return json::object{
      {"resultType", "complete"},
      {"taskId", task_id},
      {"status", "failed"},
      {"statusMessage", "Interlock: " + why},
      {"createdAt", created.empty() ? now : created},
      {"lastUpdatedAt", now},
      {"ttlMs", nullptr},
      {"error", json::object{{"code", kInternalError}, {"message", "Interlock: " + why}}}};
}

void CallFlow::EndOpenTasks(std::string_view why) {
  std::map<std::string, OpenTask, std::less<>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks = tasks_.TakeAll();
  }
  for (const auto& [task_id, t] : tasks) RecordNotObserved(task_id, t, why);
}

void CallFlow::RecordNotObserved(const std::string& task_id, const OpenTask& t,
                                 std::string_view why) {
  if (t.recorded || !t.outcome || t.outcome->call_id.empty()) return;
  ToolResult r = ToolResult::Failure("the task's outcome was not observed through Interlock (" +
                                     std::string(why) + "; last status " +
                                     (t.last_status.empty() ? "unknown" : t.last_status) +
                                     "); it may have run");
  r.credential_json = t.credential_json;
  if (Status s = options_.enforcer->RecordResult(t.outcome->call_id, r); !s.ok()) {
    Log("could not record the outcome of task " + task_id.substr(0, 64) + ": " + s.error().message);
  }
}

}  // namespace interlock::mcp
