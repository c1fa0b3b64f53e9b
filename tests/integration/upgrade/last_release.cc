#include "last_release.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "subprocess.h"
#include "wait.h"

namespace interlock::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string TrimNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::string LastReleaseCommit() { return INTERLOCK_LAST_RELEASE_COMMIT; }

std::string LastReleaseBinary(std::string* error) {
  static std::once_flag once;
  static std::string binary, failure;
  std::call_once(once, [] {
    // Instant when built; a cold build takes minutes (bounded here for a run outside ctest,
    // whose fixture builds it with a longer timeout than a test's).
    ProcessResult r = RunProcess(
        {"/bin/bash", INTERLOCK_LAST_RELEASE_SCRIPT, INTERLOCK_SOURCE_DIR,
         INTERLOCK_LAST_RELEASE_DIR, INTERLOCK_LAST_RELEASE_COMMIT, INTERLOCK_LAST_RELEASE_CXX},
        "", std::chrono::minutes(40));
    const std::string out = TrimNewlines(r.out);
    const std::string last =
        out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
    if (r.exit_code == 0 && !last.empty() && ::access(last.c_str(), X_OK) == 0) {
      binary = last;
    } else {
      failure = "the last landed release (" + std::string(INTERLOCK_LAST_RELEASE_COMMIT) +
                ") could not be built" + (r.timed_out ? " within 40 minutes" : "") + ":\n" + r.err;
    }
  });
  if (binary.empty() && error != nullptr) *error = failure;
  return binary;
}

std::string RunBinary(const std::string& binary, const std::vector<std::string>& args,
                      int* exit_code) {
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = RunProcess(argv, "", std::chrono::seconds(60));
  *exit_code = r.exit_code;
  std::string out = TrimNewlines(r.out);
  if (r.exit_code != 0) out += "\n[stderr] " + r.err;
  return out;
}

ReleaseDaemon::ReleaseDaemon(std::string binary, std::string dir,
                             std::vector<std::string> serve_args)
    : binary_(std::move(binary)), dir_(std::move(dir)), serve_args_(std::move(serve_args)) {}

ReleaseDaemon::~ReleaseDaemon() { Kill(); }

bool ReleaseDaemon::Start(std::chrono::milliseconds timeout) {
  const std::string ready = dir_ + "/old-ready.json";
  const std::string log = dir_ + "/old-daemon.log";
  ::unlink(ready.c_str());
  std::vector<std::string> args = {binary_,        "serve", "--listen",  "127.0.0.1:0",
                                   "--ready-file", ready,   "--threads", "2"};
  args.insert(args.end(), serve_args_.begin(), serve_args_.end());
  pid_ = SpawnLogged(args, log);
  if (pid_ < 0) return false;
  static const std::regex kPort(R"re("port"\s*:\s*(\d+))re");
  port_ = 0;
  bool exited = false;
  WaitUntil(
      [&] {
        const std::string text = Slurp(ready);
        if (std::smatch m; std::regex_search(text, m, kPort)) {
          port_ = std::stoi(m[1]);
          return true;
        }
        int status = 0;
        exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
        return exited;
      },
      timeout);
  if (exited) pid_ = -1;
  return port_ > 0 && !exited;
}

int ReleaseDaemon::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  int status = 0;
  if (!WaitUntil([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout)) return -1;
  pid_ = -1;
  ended_ = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                             : "signal " + std::to_string(WTERMSIG(status));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int ReleaseDaemon::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const int code = Wait(timeout);
  Kill();
  return code;
}

void ReleaseDaemon::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ReleaseDaemon::log() const {
  return Slurp(dir_ + "/old-daemon.log") + (ended_.empty() ? "" : "[ended: " + ended_ + "]\n");
}

}  // namespace interlock::testing
