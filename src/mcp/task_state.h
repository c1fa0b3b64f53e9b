// What an MCP server says of a task (the tasks extension of MCP 2026-07-28,
// io.modelcontextprotocol/tasks; docs/mcp.md#tasks), read as the gateway follows it. The
// server is not trusted: its task object (a CreateTaskResult's or a tasks/get answer's) is
// read here, as a pure function, before any of it reaches the client or the call's record
// (CallFlow::ApplyTaskState, gateway_tasks.cc). The fuzz target fuzz_mcp_task_state feeds it
// arbitrary objects.
// Thread-safety: pure functions.
#ifndef INTERLOCK_MCP_TASK_STATE_H_
#define INTERLOCK_MCP_TASK_STATE_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "mcp/enforcer.h"

namespace interlock::mcp {

// The five statuses of the extension, and the three a task ends in.
bool KnownTaskStatus(std::string_view status);
bool TerminalTaskStatus(std::string_view status);

// A task id the gateway keeps and compares: a string of 1 to `max_bytes` bytes without
// control characters.
bool UsableTaskId(const boost::json::value* v, size_t max_bytes);

// How long the task may be followed: its ttlMs (a number of milliseconds; null, absent,
// negative or not a number: unlimited), at most `cap`.
std::chrono::milliseconds TaskLife(const boost::json::object& task, std::chrono::hours cap);

// The gateway's rules a task's answer passes, as for a call's own answer: the tool's result
// recorded and reduced to the tool's scope (CallFlow::TakeToolResult), and the input requests a
// server may send a client ("" if all may be relayed, else why not).
struct TaskRules {
  std::function<ToolResult(boost::json::value& result)> take_result;
  std::function<std::string(const boost::json::value* requests)> refused_input_requests;
};

struct TaskReading {
  std::string refused;  // not empty: the answer is refused (why); nothing else is set
  std::string status;
  std::vector<std::string> outstanding;  // input_required: the keys asked for, sorted
  bool terminal = false;
  ToolResult outcome = ToolResult::Failure("");  // terminal: what the call's record gets
};

// Reads `task` and removes from it what its status does not carry (a `result` beside
// "working" would reach the client without being recorded). `created`: the object is a
// CreateTaskResult, which need not list an input_required task's requests.
TaskReading ReadTaskState(boost::json::object& task, bool created, const TaskRules& rules);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_TASK_STATE_H_
