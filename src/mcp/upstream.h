// Upstream: the MCP server behind a gateway session, reached over one transport. The
// daemon's Streamable HTTP front door (src/doors/mcp_http/mcp_http.h) gives each session its own
// Upstream: a stdio child (StdioUpstream, one process per session) or an HTTP server
// (HttpUpstream, src/mcp/http_upstream.h, one upstream MCP session per Interlock session).
//
// Contract: Start() once, then Send() any number of times from any thread (never blocks
// for long; a dead upstream drops the message and reports itself through on_closed), then
// Close() once. Callbacks run on the upstream's own thread(s), one message at a time, never
// after Close() returned; on_closed runs at most once. Credentials for the upstream come
// from the daemon's configuration only (environment and files for children, headers for
// HTTP servers), never from the agent.
#ifndef INTERLOCK_MCP_UPSTREAM_H_
#define INTERLOCK_MCP_UPSTREAM_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/value.hpp>

#include "interlock/result.h"
#include "mcp/child_process.h"

namespace interlock::mcp {

struct UpstreamCallbacks {
  // One JSON-RPC message text. `related`: the id of the gateway's request whose reply
  // stream carried it (HTTP upstreams: the POST's SSE stream), so the client transport can
  // send it on that request's stream; null when unknown (stdio, the GET stream).
  std::function<void(std::string_view message, const boost::json::value* related)> on_message;
  std::function<void()> on_oversized;              // a message over the cap
  std::function<void(std::string why)> on_closed;  // the upstream is gone
};

struct SandboxSpec;

class Upstream {
 public:
  virtual ~Upstream() = default;
  virtual Status Start(UpstreamCallbacks callbacks) = 0;
  virtual void Send(const boost::json::value& message) = 0;
  // Ends the upstream (bounded wait) and stops the callbacks. Idempotent.
  virtual void Close() = 0;
  // The child's process id (stdio), for logs and tests; -1 otherwise.
  virtual int pid() const { return -1; }
};

// A child process speaking newline-delimited JSON-RPC on stdin/stdout (MCP stdio); its
// stderr goes to the daemon's stderr; `env` is its complete environment (ChildProcess).
// With `sandbox` it runs inside that sandbox, checked, or not at all (SpawnServer).
// Close(): closes the child's stdin, waits up to `grace` for it to exit, then
// ChildProcess terminates the whole process group.
class StdioUpstream final : public Upstream {
 public:
  static Result<std::unique_ptr<StdioUpstream>> Spawn(const std::vector<std::string>& argv,
                                                      const std::map<std::string, std::string>& env,
                                                      std::chrono::milliseconds grace,
                                                      const SandboxSpec* sandbox = nullptr);
  ~StdioUpstream() override;

  Status Start(UpstreamCallbacks callbacks) override;
  void Send(const boost::json::value& message) override;
  void Close() override;
  int pid() const override { return pid_; }

 private:
  StdioUpstream(std::unique_ptr<ChildProcess> child, std::chrono::milliseconds grace);

  std::unique_ptr<ChildProcess> child_;
  const int pid_;
  const std::chrono::milliseconds grace_;
  int wake_[2] = {-1, -1};  // wakes the reader on Close()
  std::mutex write_mu_;
  std::thread reader_;
  std::atomic<bool> closing_{false};
  std::once_flag closed_once_;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_UPSTREAM_H_
