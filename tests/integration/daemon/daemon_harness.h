// Test harness for the daemon: a child `interlock serve` process and a small HTTP client.
// Every wait is bounded; the child is killed (SIGKILL) when the harness is destroyed.
#ifndef INTERLOCK_TESTS_INTEGRATION_DAEMON_DAEMON_HARNESS_H_
#define INTERLOCK_TESTS_INTEGRATION_DAEMON_DAEMON_HARNESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace interlock::testing {

struct HttpResult {
  int status = 0;  // 0: connection failed or timed out
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  boost::json::value json;                     // null unless the body is JSON
};

// One keep-alive connection to 127.0.0.1:port. Not thread-safe; one per thread.
class HttpClient {
 public:
  explicit HttpClient(int port);
  ~HttpClient();
  HttpResult Request(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& token = "",
                     std::chrono::milliseconds timeout = std::chrono::seconds(10),
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends raw bytes on a fresh connection and returns whatever arrives until close or
// timeout (for malformed and slow requests).
std::string RawExchange(int port, const std::string& bytes, std::chrono::milliseconds timeout,
                        std::chrono::milliseconds* elapsed = nullptr);

// A tiny HTTP server on 127.0.0.1:0 recording POST bodies (the webhook receiver).
class WebhookReceiver {
 public:
  WebhookReceiver();
  ~WebhookReceiver();
  int port() const { return port_; }
  // Waits until at least n bodies arrived; returns them.
  std::vector<std::string> WaitFor(size_t n, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// `interlock serve` as a child process.
class Daemon {
 public:
  // dir: a temp directory for the store, ready file and logs.
  Daemon(std::string dir, std::string policies, std::string config = "");
  ~Daemon();

  // The --store value for every later Start() (default DIR/interlock.db), e.g. a
  // postgresql:// URI.
  void SetStore(std::string store) { store_ = std::move(store); }
  // More `serve` flags for every later Start() (e.g. {"--workspace", dir}).
  void SetExtraArgs(std::vector<std::string> args) { extra_args_ = std::move(args); }

  // Starts and waits (bounded) for the ready file. False on failure (see log()).
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGTERM and wait; returns the exit code (-1 on timeout -> killed).
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  void Kill9();
  void Signal(int sig);
  bool Running();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& store() const { return store_; }
  std::string log() const;

 private:
  std::string dir_, policies_, config_, store_, ready_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int port_ = 0;
  int starts_ = 0;
};

// A fleet member's daemon, not started: `serve` of one policy, `policy_yaml` written to
// DIR/policies/agent.yaml, on the store `store` (e.g. a postgresql:// URI) with its keys in
// DIR/keys. `dir` is a temporary directory the caller owns (a TempDir's path).
std::unique_ptr<Daemon> MemberDaemon(const std::string& dir, const std::string& policy_yaml,
                                     const std::string& store);

// Whether `tool` (called with no arguments) is ALLOWED in a fresh run of `token`'s agent,
// through `c`: a fleet member serving again after its database came back or failed over.
bool AllowedInAFreshRun(HttpClient& c, const std::string& token, const std::string& tool);

// `interlock ARGS...` to completion; returns stdout (trimmed) and sets *exit_code.
std::string RunInterlock(const std::vector<std::string>& args, int* exit_code = nullptr);

// A token for the store at `store` ("--agent ID" | "--reviewer N" | "--admin N"); `extra`
// flags follow (a PostgreSQL store's token is anchored: {"--keys", DIR}).
std::string CreateToken(const std::string& store, const std::string& role_flag,
                        const std::string& name, const std::vector<std::string>& extra = {});

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_DAEMON_DAEMON_HARNESS_H_
