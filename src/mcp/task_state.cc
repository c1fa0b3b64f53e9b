#include "mcp/task_state.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include <boost/system/error_code.hpp>

#include "common/json.h"
#include "mcp/gateway_internal.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::Quoted;

bool KnownTaskStatus(std::string_view s) {
  return s == "working" || s == "input_required" || s == "completed" || s == "failed" ||
         s == "cancelled";
}

bool TerminalTaskStatus(std::string_view s) {
  return s == "completed" || s == "failed" || s == "cancelled";
}

bool UsableTaskId(const json::value* v, size_t max_bytes) {
  if (v == nullptr || !v->is_string()) return false;
  const json::string& s = v->get_string();
  if (s.empty() || s.size() > max_bytes) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::chrono::milliseconds TaskLife(const json::object& task, std::chrono::hours cap) {
  auto life = std::chrono::duration_cast<std::chrono::milliseconds>(cap);
  if (const json::value* ttl = task.if_contains("ttlMs"); ttl != nullptr && ttl->is_number()) {
    boost::system::error_code ec;
    const double ms = ttl->to_number<double>(ec);
    if (!ec && ms >= 0 && ms < static_cast<double>(life.count())) {
      life = std::chrono::milliseconds(static_cast<int64_t>(ms));
    }
  }
  return life;
}

TaskReading ReadTaskState(json::object& task, bool created, const TaskRules& rules) {
  TaskReading out;
  auto refuse = [](std::string why) {
    TaskReading r;
    r.refused = std::move(why);
    return r;
  };
  out.status = StringMember(task, "status");
  if (!KnownTaskStatus(out.status)) {
    return refuse("the MCP server sent a task status Interlock does not know (" +
                  Quoted(out.status.substr(0, 32)) + ")");
  }
  const std::string& status = out.status;
  if (status != "completed") task.erase("result");
  if (status != "failed") task.erase("error");
  if (status != "input_required") task.erase("inputRequests");
  if (status == "completed") {
    json::value* result = task.if_contains("result");
    if (result == nullptr || !result->is_object()) {
      return refuse("the MCP server reported the task completed without a result");
    }
    out.outcome = rules.take_result(*result);
  } else if (status == "failed") {
    const json::value* error = task.if_contains("error");
    const json::value* m = error != nullptr && error->is_object()
                               ? error->get_object().if_contains("message")
                               : nullptr;
    out.outcome.error =
        "the task failed: " + (m != nullptr && m->is_string() ? std::string(m->get_string())
                                                              : std::string("JSON-RPC error"));
  } else if (status == "cancelled") {
    const std::string message = StringMember(task, "statusMessage");
    out.outcome.error = "the task was cancelled" + (message.empty() ? "" : ": " + message);
  } else if (status == "input_required") {
    const json::value* requests = task.if_contains("inputRequests");
    if (requests == nullptr && created) {
      // A CreateTaskResult need not carry them (they come with tasks/get): nothing is
      // outstanding until a tasks/get shows what it asks.
    } else if (requests == nullptr || !requests->is_object() || requests->get_object().empty()) {
      return refuse("the MCP server's task asks for input without saying for what");
    }
    if (std::string refused = rules.refused_input_requests(requests); !refused.empty()) {
      return refuse(std::move(refused));
    }
    if (requests != nullptr) {
      for (const auto& kv : requests->get_object()) out.outstanding.emplace_back(kv.key());
    }
    std::sort(out.outstanding.begin(), out.outstanding.end());
  }
  out.terminal = TerminalTaskStatus(status);
  return out;
}

}  // namespace interlock::mcp
