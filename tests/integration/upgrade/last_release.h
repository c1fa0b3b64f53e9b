// The last landed release's `interlock` program for the upgrade tests: built from this
// clone's git history by build-last-release.sh into the build directory (once: later runs
// find it there), then run as a command or as a daemon beside this build's. The commit is
// named once, in tests/integration/upgrade/CMakeLists.txt. Every wait is bounded.
#ifndef INTERLOCK_TESTS_INTEGRATION_UPGRADE_LAST_RELEASE_H_
#define INTERLOCK_TESTS_INTEGRATION_UPGRADE_LAST_RELEASE_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace interlock::testing {

// The last landed release's commit (40 hex digits).
std::string LastReleaseCommit();

// The path of that release's program, built on the first call in a process when the build
// directory holds none yet (ctest's fixture UpgradeLastReleaseBuild normally built it
// before); "" and *error, saying why and how to fix it, when it cannot be built (e.g. a
// shallow clone without the commit).
std::string LastReleaseBinary(std::string* error);

// `binary ARGS...` to completion (60 s at most): stdout without its trailing newlines;
// *exit_code is -1 when it was killed or timed out. Its stderr is appended to the result
// when it failed, for the assertion's message.
std::string RunBinary(const std::string& binary, const std::vector<std::string>& args,
                      int* exit_code);

// `binary serve` as a child process, on 127.0.0.1:0 with its ready file and log in `dir`
// (old-ready.json, old-daemon.log: a harness Daemon in the same directory keeps its own).
// `serve_args` follow --listen and --ready-file (--store, --policies, --keys...). The child
// receives SIGTERM if the test's thread dies, and SIGKILL on destruction if still running.
class ReleaseDaemon {
 public:
  ReleaseDaemon(std::string binary, std::string dir, std::vector<std::string> serve_args);
  ~ReleaseDaemon();
  ReleaseDaemon(const ReleaseDaemon&) = delete;
  ReleaseDaemon& operator=(const ReleaseDaemon&) = delete;

  // Starts and waits for the ready file; false when the child exited or `timeout` passed.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGTERM and wait: the exit code, or -1 (then killed) after `timeout`.
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Waits (bounded) for the child to exit by itself: its exit code, -1 after `timeout`.
  int Wait(std::chrono::milliseconds timeout);
  int port() const { return port_; }
  // Its log, and how it ended when it did ("[ended: exit code N]" or "signal N").
  std::string log() const;

 private:
  void Kill();

  std::string binary_, dir_;
  std::vector<std::string> serve_args_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string ended_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_UPGRADE_LAST_RELEASE_H_
