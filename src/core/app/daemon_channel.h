// How a client of `interlock serve` reaches it: the stdio MCP gateway's and the Claude Code
// hook's Enforcer (mcp::DaemonEnforcer), the egress proxy's decider of `--daemon`
// (egress::DaemonEgressDecider) and the operator commands (`approvals`, `kill`, `runs`,
// `drill`, `doctor`). One port, so a door names no transport: the composition root (the CLI)
// hands in the one implementation (daemon_client/daemon_client.h), which owns the
// connection, TLS, the bearer token, the timeouts and the transport's error words.
//
// Thread-safety: a DaemonChannel's Exchange may be called from any thread, concurrently
// (each exchange on a connection of its own); a DaemonConnector keeps no state.
#ifndef INTERLOCK_CORE_APP_DAEMON_CHANNEL_H_
#define INTERLOCK_CORE_APP_DAEMON_CHANNEL_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock::core {

// The daemon's reply to one request: the HTTP status and body.
struct DaemonReply {
  int status = 0;
  std::string body;
};

// One connection to one daemon, authenticated by one bearer token.
class DaemonChannel {
 public:
  virtual ~DaemonChannel() = default;
  // One request: `target` is the path after the URL's prefix ("/v1/runs"); a POST or a
  // non-empty `body` is sent as application/json. `timeout` bounds the exchange after the
  // connect; `keep_going` (may be empty) is polled while it runs and false cancels it
  // (kTimeout, "cancelled"). `traceparent` (W3C trace context) and `idempotency_key` are
  // sent only when well formed. Errors: kTimeout or kUnavailable naming the step and the
  // daemon's URL, never the token.
  virtual Result<DaemonReply> Exchange(std::string_view method, std::string_view target,
                                       std::string body, std::chrono::milliseconds timeout,
                                       const std::function<bool()>& keep_going = {},
                                       std::string_view traceparent = {},
                                       std::string_view idempotency_key = {}) const = 0;
  // The daemon's URL as configured (for messages).
  virtual const std::string& url() const = 0;
};

// Where and as whom a client reaches the daemon.
struct DaemonAddress {
  std::string url;      // http(s)://HOST[:PORT][/PREFIX]
  std::string ca_file;  // https: PEM CA bundle to verify the daemon with ("" = system CAs)
  std::string token;    // bearer token; never logged nor put into an error
  std::string user_agent = "interlock-gateway";
  std::chrono::milliseconds connect_timeout{5000};  // resolve, connect and TLS handshake
  std::chrono::milliseconds poll_interval{1000};    // how often keep_going is polled
};

// Opens channels: validates the address (an http(s) URL with a host and no credentials,
// query or fragment; a non-empty token; a CA file for https:// only, readable) and builds
// the TLS context once; connects to nothing. Errors are kInvalidArgument sentences naming
// the flag ("--daemon URL: ...").
class DaemonConnector {
 public:
  virtual ~DaemonConnector() = default;
  virtual Result<std::unique_ptr<DaemonChannel>> Connect(DaemonAddress address) const = 0;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_DAEMON_CHANNEL_H_
