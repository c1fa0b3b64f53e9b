// libFuzzer target for what an MCP server says of a task (mcp/task_state.h): the server is
// hostile, its task object arbitrary JSON. The first byte chooses a CreateTaskResult or a
// tasks/get answer; the rest is the object. Checks that an accepted object keeps only its
// status's payload (no result the call's record would miss), that the input requests listed
// as outstanding are the ones it carries, sorted, that what reaches the client is JSON that
// reads back, and that a task's life stays within its cap.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/json.h"
#include "mcp/task_state.h"

namespace {

namespace json = boost::json;
using interlock::mcp::TaskReading;
using interlock::mcp::TaskRules;
using interlock::mcp::ToolResult;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

// As CallFlow::TakeToolResult: the whole result recorded, the client's structuredContent
// reduced (here to the field "a").
ToolResult TakeResult(json::value& result) {
  ToolResult r;
  r.output_json = interlock::CanonicalJson(result);
  if (json::value* sc = result.get_object().if_contains("structuredContent");
      sc != nullptr && sc->is_object()) {
    json::object& o = sc->get_object();
    for (auto it = o.begin(); it != o.end();) it = it->key() == "a" ? std::next(it) : o.erase(it);
  }
  return r;
}

// As CallFlow::RefusedInputRequests, with only elicitation relayed.
std::string RefusedInputs(const json::value* requests) {
  if (requests == nullptr) return "";
  if (!requests->is_object()) return "not an object";
  for (const auto& kv : requests->get_object()) {
    const json::value* m =
        kv.value().is_object() ? kv.value().get_object().if_contains("method") : nullptr;
    if (m == nullptr || !m->is_string() || m->get_string() != "elicitation/create") {
      return "not relayed";
    }
  }
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool created = (data[0] & 1) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  interlock::Result<json::value> doc = interlock::ParseJsonStrict(text);
  if (!doc.ok() || !doc->is_object()) return 0;
  json::object& task = doc->get_object();

  const auto cap = std::chrono::hours(24);
  const std::chrono::milliseconds life = interlock::mcp::TaskLife(task, cap);
  Check(life.count() >= 0 && life <= cap, "a task's life stays within its cap");
  if (interlock::mcp::UsableTaskId(task.if_contains("taskId"), 128)) {
    const json::string& id = task.at("taskId").get_string();
    Check(!id.empty() && id.size() <= 128, "a usable task id is 1 to 128 bytes");
    Check(std::none_of(id.begin(), id.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }),
          "a usable task id has no control character");
  }

  TaskRules rules;
  rules.take_result = TakeResult;
  rules.refused_input_requests = RefusedInputs;
  const TaskReading read = interlock::mcp::ReadTaskState(task, created, rules);
  if (!read.refused.empty()) {
    Check(read.status.empty() && read.outstanding.empty() && !read.terminal,
          "a refused answer says nothing else");
    return 0;
  }
  const std::string& status = read.status;
  Check(interlock::mcp::KnownTaskStatus(status), "an accepted status is known");
  Check(read.terminal == interlock::mcp::TerminalTaskStatus(status), "terminal as its status");
  Check(status == "completed" || !task.contains("result"), "only a completed task has a result");
  Check(status == "failed" || !task.contains("error"), "only a failed task has an error");
  Check(status == "input_required" || !task.contains("inputRequests"),
        "only an input_required task has input requests");
  Check(std::is_sorted(read.outstanding.begin(), read.outstanding.end()),
        "outstanding requests are sorted");
  for (const std::string& key : read.outstanding) {
    Check(task.at("inputRequests").get_object().contains(key),
          "an outstanding request is one the task carries");
  }
  if (status == "completed") {
    Check(task.at("result").is_object(), "a completed task's result is an object");
    Check(interlock::ParseJsonStrict(read.outcome.output_json).ok(),
          "the recorded result reads back");
    if (const json::value* sc = task.at("result").get_object().if_contains("structuredContent");
        sc != nullptr && sc->is_object()) {
      Check(sc->get_object().size() <= 1, "the client's structuredContent is reduced");
    }
  } else if (read.terminal) {
    Check(!read.outcome.ok && !read.outcome.error.empty(), "a task that did not complete failed");
  }
  Check(interlock::ParseJsonStrict(interlock::CanonicalJson(*doc)).ok(),
        "what reaches the client reads back");
  return 0;
}
