// TaskTable (task_table.h): the tasks the gateway follows.
#include "mcp/task_table.h"

#include <algorithm>
#include <utility>

#include "mcp/gateway_internal.h"

namespace interlock::mcp {

using gateway_internal::Quoted;

namespace {

// What a terminal reading says, for comparing later answers with it: its status and the
// outcome the record holds (a completed task's whole result as the server sent it, a failed
// one's error). A cancelled task's statusMessage may change; its status may not.
std::string TerminalOutcomeKey(const TaskReading& read) {
  if (read.status == "completed") return read.status + '\n' + read.outcome.output_json;
  if (read.status == "failed") return read.status + '\n' + read.outcome.error;
  return read.status;
}

}  // namespace

bool TaskTable::Open(const std::string& task_id, OpenTask t,
                     std::chrono::steady_clock::time_point now, std::vector<OpenTask>* ended) {
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->second.expires <= now) {
      ended->push_back(std::move(it->second));
      it = tasks_.erase(it);
    } else {
      ++it;
    }
  }
  if (tasks_.count(task_id) != 0) return false;
  if (tasks_.size() >= kMaxOpen) {
    // The oldest: one already recorded if any (nothing is lost), else the oldest open.
    auto victim = tasks_.end();
    for (auto it = tasks_.begin(); it != tasks_.end(); ++it) {
      if (victim == tasks_.end() || it->second.recorded > victim->second.recorded ||
          (it->second.recorded == victim->second.recorded && it->second.seq < victim->second.seq)) {
        victim = it;
      }
    }
    ended->push_back(std::move(victim->second));
    tasks_.erase(victim);
  }
  t.seq = next_seq_++;
  tasks_.emplace(task_id, std::move(t));
  return true;
}

TaskTable::Shown TaskTable::Show(const std::string& task_id, TaskReading& read,
                                 std::optional<std::chrono::steady_clock::time_point> renewed,
                                 std::string* contradicted) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return Shown::kUnknown;
  // A task shown ended stays ended, with the outcome the record holds: a server that says
  // "failed" (recorded) and then "completed: tests PASSED" would have the agent act on
  // what the trail never holds.
  const std::string terminal = read.terminal ? TerminalOutcomeKey(read) : std::string();
  if (!it->second.terminal.empty() && terminal != it->second.terminal) {
    *contradicted = "the MCP server changed the outcome of a task it had reported " +
                    it->second.last_status + " (now " + Quoted(read.status.substr(0, 32)) + ")";
    return Shown::kContradicted;
  }
  it->second.last_status = read.status;
  if (read.terminal) it->second.terminal = terminal;
  it->second.outstanding = std::move(read.outstanding);
  if (renewed) it->second.expires = *renewed;
  return Shown::kTaken;
}

TaskTable::Followed TaskTable::Follow(const std::string& task_id,
                                      const std::vector<std::string>& answered,
                                      std::chrono::steady_clock::time_point now,
                                      std::optional<OpenTask>* expired) {
  Followed f;
  auto it = tasks_.find(task_id);
  if (it != tasks_.end() && it->second.expires <= now) {
    *expired = std::move(it->second);
    tasks_.erase(it);
    return f;
  }
  if (it == tasks_.end()) return f;
  f.outcome = it->second.outcome;
  f.tool = it->second.tool;
  f.authorization = it->second.authorization;
  for (const std::string& k : answered) {
    if (!std::binary_search(it->second.outstanding.begin(), it->second.outstanding.end(), k)) {
      f.stray.push_back(k);
    }
  }
  return f;
}

void TaskTable::Forwarded(const std::string& task_id, const std::string* authorization,
                          const std::vector<std::string>& answered) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  if (authorization != nullptr) it->second.authorization = *authorization;
  std::vector<std::string>& left = it->second.outstanding;
  for (const std::string& k : answered) {
    left.erase(std::remove(left.begin(), left.end(), k), left.end());
  }
}

bool TaskTable::MarkRecorded(const std::string& task_id, std::string* call_id,
                             std::string* credential_json) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.recorded || !it->second.outcome) return false;
  it->second.recorded = true;
  *call_id = it->second.outcome->call_id;
  *credential_json = it->second.credential_json;
  return true;
}

std::string TaskTable::AuthorizationOf(const std::string& task_id) const {
  auto it = tasks_.find(task_id);
  return it != tasks_.end() ? it->second.authorization : std::string();
}

std::string TaskTable::CreatedAtOf(const std::string& task_id) const {
  auto it = tasks_.find(task_id);
  return it != tasks_.end() ? it->second.created_at : std::string();
}

void TaskTable::Erase(const std::string& task_id) { tasks_.erase(task_id); }

std::map<std::string, OpenTask, std::less<>> TaskTable::TakeAll() {
  std::map<std::string, OpenTask, std::less<>> all;
  all.swap(tasks_);
  return all;
}

}  // namespace interlock::mcp
