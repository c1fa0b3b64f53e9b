// A child process a test drives over pipes: SpawnPiped starts it with its stdin and stdout
// on pipes, PipeLines reads its stdout line by line. The caller owns the pid and both ends
// (closes them, kills and reaps the child). Header-only; every read is bounded.
#ifndef INTERLOCK_TESTS_SUPPORT_PIPED_CHILD_H_
#define INTERLOCK_TESTS_SUPPORT_PIPED_CHILD_H_

#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace interlock::testing {

// A started child: its pid, the write end of its stdin and the read end of its stdout; all
// -1 when the pipes could not be made.
struct PipedSpawn {
  pid_t pid = -1;
  int in = -1;
  int out = -1;
};

struct PipedSpawnOptions {
  std::string err_path;            // set: the child's stderr goes to this file (truncated)
  bool own_group = false;          // the child leads a process group of its own
  bool nonblocking_stdin = false;  // the child's stdin is O_NONBLOCK
};

// Forks and execs argv (argv[0] a path) on pipes; the child's ends are closed here.
inline PipedSpawn SpawnPiped(const std::vector<std::string>& argv,
                             const PipedSpawnOptions& opts = {}) {
  PipedSpawn s;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return s;
  if (opts.nonblocking_stdin) fcntl(in[0], F_SETFL, fcntl(in[0], F_GETFL) | O_NONBLOCK);
  s.pid = fork();
  if (s.pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    if (!opts.err_path.empty()) {
      const int err = open(opts.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (err >= 0) dup2(err, 2);
    }
    if (opts.own_group) setpgid(0, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  s.in = in[1];
  s.out = out[0];
  return s;
}

// The lines read from a child's stdout, each without its newline; what came after a line
// is kept for the next.

class PipeLines {
 public:
  // The next line read from `fd`, or "" after `timeout` or at EOF.
  std::string ReadLine(int fd, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (size_t nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char b[65536];
      const ssize_t n = read(fd, b, sizeof b);
      if (n <= 0) return "";
      buf_.append(b, static_cast<size_t>(n));
    }
  }

 private:
  std::string buf_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_PIPED_CHILD_H_
