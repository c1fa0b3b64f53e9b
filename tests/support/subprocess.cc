#include "subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace interlock::testing {

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_data,
                         std::chrono::milliseconds timeout) {
  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  ProcessResult r;
  size_t written = 0;
  int in_fd = in[1];
  if (stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3] = {{out_open ? out[0] : -1, POLLIN, 0},
                     {err_open ? err[0] : -1, POLLIN, 0},
                     {in_fd, POLLOUT, 0}};
    if (poll(fds, 3, static_cast<int>(left.count())) < 0) continue;
    if (fds[0].revents) {
      const ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0)
        out_open = false;
      else
        r.out.append(buf, n);
    }
    if (fds[1].revents) {
      const ssize_t n = read(err[0], buf, sizeof buf);
      if (n <= 0)
        err_open = false;
      else
        r.err.append(buf, n);
    }
    if (in_fd >= 0 && fds[2].revents) {
      const ssize_t n = write(in_fd, stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == stdin_data.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!r.timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

ServiceChild::ServiceChild(const std::vector<std::string>& argv) {
  int in[2], out[2];
  // O_CLOEXEC: a later child (an upstream) must not hold this one's stdin open.
  if (::pipe2(in, O_CLOEXEC) != 0) return;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return;
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::close(in[1]);
    ::close(out[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  stdin_ = in[1];
  stdout_ = out[0];
}

ServiceChild::~ServiceChild() {
  if (stdin_ >= 0) ::close(stdin_);
  if (stdout_ >= 0) ::close(stdout_);
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

std::string ServiceChild::FirstLine(std::chrono::milliseconds timeout) {
  std::string line;
  if (stdout_ < 0) return line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ::fcntl(stdout_, F_SETFL, O_NONBLOCK);
  while (std::chrono::steady_clock::now() < deadline) {
    char c;
    const ssize_t n = ::read(stdout_, &c, 1);
    if (n == 1) {
      if (c == '\n') return line;
      line += c;
    } else if (n == 0) {
      return line;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pace: a nonblocking read
    }
  }
  return line;
}

pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<std::string> args = argv;
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  return pid;
}

std::string RunSetupScriptOnce(const std::string& script) {
  static std::mutex mu;
  static std::map<std::string, std::string> done;  // script -> "" or its error
  std::lock_guard lock(mu);
  if (auto it = done.find(script); it != done.end()) return it->second;
  ProcessResult r = RunProcess({"/bin/sh", script}, "", std::chrono::minutes(5));
  std::string error;
  if (r.exit_code != 0) {
    error = script + " failed" + (r.timed_out ? " (timed out)" : "") + ": " + r.err;
  }
  return done[script] = error;
}

TestCert MakeSelfSignedCert(const std::string& dir, const std::string& name,
                            const std::string& san) {
  TestCert c{dir + "/" + name + ".pem", dir + "/" + name + ".key", ""};
  ProcessResult gen =
      RunProcess({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", c.key, "-out", c.cert,
                  "-days", "1", "-subj", "/CN=interlock-test", "-addext", "subjectAltName=" + san});
  if (gen.exit_code != 0) c.error = "openssl req failed: " + gen.err;
  return c;
}

TestCa MakeTestCa(const std::string& dir) {
  TestCa t{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key", ""};
  const std::string ext = dir + "/ext.cnf";
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n";
  const std::vector<std::vector<std::string>> steps = {
      {"/usr/bin/openssl",
       "req",
       "-x509",
       "-newkey",
       "ec",
       "-pkeyopt",
       "ec_paramgen_curve:P-256",
       "-nodes",
       "-keyout",
       dir + "/ca.key",
       "-out",
       t.ca,
       "-subj",
       "/CN=interlock-test-ca",
       "-days",
       "1",
       "-addext",
       "basicConstraints=critical,CA:TRUE",
       "-addext",
       "keyUsage=critical,keyCertSign"},
      {"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", t.key, "-out", dir + "/server.csr", "-subj", "/CN=127.0.0.1"},
      {"/usr/bin/openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", t.ca, "-CAkey",
       dir + "/ca.key", "-CAcreateserial", "-out", t.cert, "-days", "1", "-extfile", ext},
  };
  for (const auto& argv : steps) {
    ProcessResult r = RunProcess(argv);
    if (r.exit_code != 0) {
      t.error = "openssl " + argv[1] + " failed (" + std::to_string(r.exit_code) + "): " + r.err;
      break;
    }
  }
  return t;
}

}  // namespace interlock::testing
