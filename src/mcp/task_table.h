// The tasks a 2026-07-28 server made of this session's tools/calls (the tasks extension,
// io.modelcontextprotocol/tasks; docs/mcp.md#tasks), as the Gateway follows them
// (gateway_tasks.cc): by the server's task id, the decision each was forwarded under, what
// the client was last shown, and whether its outcome is in the call's record. The Gateway
// decides, forwards and records; this is the bookkeeping: which tasks are open, which are
// forgotten (evicted, past their ttl), and that a task shown ended stays ended.
// Thread-safety: not synchronized. Its owner (the Gateway) calls it with its own lock
// (Gateway::mu_) held, in the same hold as the requests at the server (Gateway::pending_) a
// tasks/* request it forwards becomes, so a task's answer never finds the task as it was
// before the request.
#ifndef INTERLOCK_MCP_TASK_TABLE_H_
#define INTERLOCK_MCP_TASK_TABLE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/enforcer.h"
#include "mcp/task_state.h"

namespace interlock::mcp {

// A task a server made of a 2026-07-28 client's tools/call. The call was decided once, when it
// came; its outcome is recorded once, when a tasks/get first shows it terminal (or as not
// observed when the task is evicted, outlives its ttl, or the session ends).
struct OpenTask {
  std::shared_ptr<const Enforcer::Outcome> outcome;  // the decision it was forwarded under
  std::string tool;
  std::string credential_json;
  std::string authorization;  // the latest it was sent with (credential_for; never recorded)
  std::string created_at;     // the server's createdAt (RFC 3339), for answers of Interlock's
  std::string last_status;    // the latest status the client was shown
  std::vector<std::string> outstanding;  // inputRequests keys shown, not yet answered; sorted
  // The terminal outcome first shown (status, and the result or error it carried): a task
  // ended stays ended; a later answer saying otherwise is refused.
  std::string terminal;
  bool recorded = false;  // its outcome is in the call's record
  uint64_t seq = 0;       // eviction order (set by TaskTable::Open)
  std::chrono::steady_clock::time_point expires;
};

class TaskTable {
 public:
  static constexpr size_t kMaxOpen = 256;
  static constexpr std::chrono::hours kMaxLife{24};
  static constexpr size_t kMaxIdBytes = 256;

  // Opens `t` as `task_id` at `now`. Tasks past their ttl are forgotten first, and, when
  // kMaxOpen are open, the oldest (one already recorded if any, so nothing is lost): they go
  // to *ended, whose outcomes the caller records as not observed. False (nothing opened):
  // a task of that id is open already.
  bool Open(const std::string& task_id, OpenTask t, std::chrono::steady_clock::time_point now,
            std::vector<OpenTask>* ended);

  // What the client is shown of task `task_id` (`read`: the server's answer, its outstanding
  // keys moved from): kept as the task's latest state, its ttl renewed when `renewed` is set.
  enum class Shown { kTaken, kUnknown, kContradicted };
  // kUnknown: not open (ended meanwhile). kContradicted: the task was shown ended with
  // another outcome (*contradicted says how), and nothing is kept.
  Shown Show(const std::string& task_id, TaskReading& read,
             std::optional<std::chrono::steady_clock::time_point> renewed,
             std::string* contradicted);

  // What a client's tasks/get, tasks/update or tasks/cancel of `task_id` goes on under:
  // outcome null when no such task is open. A task past its ttl at `now` is forgotten and
  // goes to *expired. `answered`: the tasks/update's inputResponses keys; those answering
  // nothing outstanding go to `stray`.
  struct Followed {
    std::shared_ptr<const Enforcer::Outcome> outcome;
    std::string tool;
    std::string authorization;
    std::vector<std::string> stray;
  };
  Followed Follow(const std::string& task_id, const std::vector<std::string>& answered,
                  std::chrono::steady_clock::time_point now, std::optional<OpenTask>* expired);

  // The client's request about `task_id` was forwarded: sent with `authorization` (when set),
  // and the keys `answered` are no longer outstanding.
  void Forwarded(const std::string& task_id, const std::string* authorization,
                 const std::vector<std::string>& answered);

  // Marks the outcome of `task_id` recorded (true) and gives the call id and credential to
  // record it under; false when it is not open, recorded already or has no decision.
  bool MarkRecorded(const std::string& task_id, std::string* call_id, std::string* credential_json);

  // The authorization the task was last sent with, and the server's createdAt ("" when not
  // open).
  std::string AuthorizationOf(const std::string& task_id) const;
  std::string CreatedAtOf(const std::string& task_id) const;

  void Erase(const std::string& task_id);
  // Every task, taken out (the session or the server ended).
  std::map<std::string, OpenTask, std::less<>> TakeAll();

 private:
  std::map<std::string, OpenTask, std::less<>> tasks_;  // by the server's task id
  uint64_t next_seq_ = 1;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_TASK_TABLE_H_
