// ChildProcess: the upstream MCP server, spawned with pipes on stdin and stdout and
// stderr inherited (so the server's logs reach the MCP client's log as they would
// without Interlock). RAII: the destructor closes the child's stdin, gives it a grace
// period to exit, then SIGTERMs and finally SIGKILLs its whole process group (npx and
// similar launchers start grandchildren) and always reaps it.
// The child's environment is exactly `env` (mcp/server_env.h builds it): nothing of
// Interlock's own environment is inherited.
// Thread-safety: one owner; stdin_fd()/stdout_fd() may be used from other threads.
#ifndef INTERLOCK_MCP_CHILD_PROCESS_H_
#define INTERLOCK_MCP_CHILD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "interlock/result.h"

namespace interlock::mcp {

class ChildProcess {
 public:
  // argv[0] is looked up in Interlock's PATH. `env` is the child's complete environment
  // (the child inherits none of this process's). `fds` maps parent descriptors onto child
  // descriptor numbers (the sandbox's status pipe).
  static Result<std::unique_ptr<ChildProcess>> Spawn(
      const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
      const std::vector<std::pair<int, int>>& fds = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  void CloseStdin();
  // Waits up to `timeout` for the child to exit; its exit code (128+signal when killed).
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int in, int out) : pid_(pid), stdin_fd_(in), stdout_fd_(out) {}
  pid_t pid_;
  int stdin_fd_;
  int stdout_fd_;
  std::optional<int> status_;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_CHILD_PROCESS_H_
