#include "mcp/sandbox.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

namespace interlock::mcp {
namespace {

namespace fs = std::filesystem;

bool IsExecutable(const std::string& p) { return ::access(p.c_str(), X_OK) == 0; }

// Relays bytes both ways between two sockets until both directions are done.
void Relay(int a, int b) {
  bool a_open = true, b_open = true;
  char buf[16 * 1024];
  while (a_open || b_open) {
    pollfd fds[2] = {{a, static_cast<short>(a_open ? POLLIN : 0), 0},
                     {b, static_cast<short>(b_open ? POLLIN : 0), 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      const int from = i == 0 ? a : b, to = i == 0 ? b : a;
      bool& open = i == 0 ? a_open : b_open;
      if (!open || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0) {
        open = false;
        ::shutdown(to, SHUT_WR);
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        const ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) {
          ::close(a);
          ::close(b);
          return;
        }
        off += w;
      }
    }
  }
  ::close(a);
  ::close(b);
}

[[noreturn]] void Forward(int listener, const std::string& socket_path) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGPIPE, SIG_IGN);
  for (;;) {
    const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      _exit(1);
    }
    std::thread([client, socket_path] {
      const int up = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
      if (up < 0 || ::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        static constexpr char kDown[] =
            "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!::write(client, kDown, sizeof kDown - 1);
        ::close(client);
        if (up >= 0) ::close(up);
        return;
      }
      Relay(client, up);
    }).detach();
  }
}

}  // namespace

SandboxSocketDir::~SandboxSocketDir() {
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

bool SandboxSocketDir::Create() {
  char tmpl[] = "/tmp/interlock-egress-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return false;
  path_ = tmpl;
  return true;
}

bool FindBridge(std::string* bridge, bool* is_subcommand) {
  char exe[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return false;
  const std::string self(exe, static_cast<size_t>(n));
  const std::string small = self.substr(0, self.rfind('/') + 1) + "interlock-sandbox-bridge";
  if (IsExecutable(small)) {
    *bridge = small;
    *is_subcommand = false;
  } else {
    *bridge = self;
    *is_subcommand = true;
  }
  return true;
}

Result<std::string> FindBwrap() {
  if (const char* env = std::getenv("INTERLOCK_BWRAP"); env != nullptr && *env != '\0') {
    if (IsExecutable(env)) return std::string(env);
    return Error::Unavailable(std::string("INTERLOCK_BWRAP=") + env + " is not executable");
  }
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    const size_t end = p.find(':', start);
    const std::string dir = p.substr(start, end == std::string::npos ? end : end - start);
    if (!dir.empty() && IsExecutable(dir + "/bwrap")) return dir + "/bwrap";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return Error::Unavailable(
      "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)");
}

namespace {

// `fd` moved to a number >= 10 (close-on-exec), so that the child's dup2 onto 2, 3 and 4
// never reads a descriptor an earlier dup2 has replaced.
int HighFd(int fd) {
  if (fd < 0) return -1;
  const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  return high;
}

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

}  // namespace

namespace {

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "the sandbox's seccomp program knows x86_64 and aarch64"
#endif
constexpr uint32_t kFchmodat2 = 452;  // same number on every architecture (Linux 6.6)
constexpr uint32_t kSetIdBits = S_ISUID | S_ISGID;

// The seccomp program of kSandboxSeccompFd (sandbox.h): which argument holds the mode of
// each call that sets one; the set-ID bits in it are refused with EPERM.
std::vector<sock_filter> SeccompProgram() {
  struct ModeArg {
    uint32_t nr;
    uint32_t arg;
  };
  std::vector<ModeArg> mode_args = {
    {SYS_fchmod, 1},
    {SYS_fchmodat, 2},
    {SYS_openat, 3},
    {SYS_mkdirat, 2},
    {SYS_mknodat, 2},
#if defined(__x86_64__)
    {SYS_chmod, 1},
    {SYS_open, 2},
    {SYS_creat, 1},
    {SYS_mkdir, 1},
    {SYS_mknod, 1},
#endif
  };
  const uint32_t unsupported[] = {SYS_openat2, SYS_io_uring_setup, kFchmodat2};
  const auto errno_ret = [](int e) -> sock_filter {
    return BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<uint32_t>(e) & 0xffff));
  };
  std::vector<sock_filter> f;
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0));
  f.push_back(errno_ret(ENOSYS));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
#if defined(__x86_64__)
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));  // x32
  f.push_back(errno_ret(ENOSYS));
#endif
  for (uint32_t nr : unsupported) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
    f.push_back(errno_ret(ENOSYS));
  }
  for (const ModeArg& m : mode_args) {
    // nr matches: load the argument's low 32 bits (little-endian), test the bits.
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, m.nr, 0, 4));
    f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                         static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * m.arg)));
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kSetIdBits, 0, 1));
    f.push_back(errno_ret(EPERM));
    f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return f;
}

}  // namespace

SandboxLaunch::~SandboxLaunch() {
  CloseFd(&ready_read_);
  CloseFd(&ready_write_);
  CloseFd(&err_file_);
  CloseFd(&stderr_copy_);
  CloseFd(&seccomp_);
}

Status SandboxLaunch::Prepare() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0)
    return Error::Unavailable("cannot set up the sandbox: pipe failed");
  ready_read_ = p[0];
  ready_write_ = HighFd(p[1]);
  int f = ::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (f < 0) {
    char tmpl[] = "/tmp/interlock-bwrap-XXXXXX";
    f = ::mkostemp(tmpl, O_CLOEXEC);
    if (f >= 0) ::unlink(tmpl);
  }
  err_file_ = HighFd(f);
  stderr_copy_ = ::fcntl(2, F_DUPFD_CLOEXEC, 10);
  if (ready_write_ < 0 || err_file_ < 0 || stderr_copy_ < 0) {
    return Error::Unavailable("cannot set up the sandbox: no descriptor for its status");
  }
  // bwrap reads the program from its own descriptor to the end.
  const std::vector<sock_filter> program = SeccompProgram();
  seccomp_ = HighFd(::memfd_create("interlock-seccomp", MFD_CLOEXEC));
  const size_t bytes = program.size() * sizeof(sock_filter);
  if (seccomp_ < 0 || ::pwrite(seccomp_, program.data(), bytes, 0) != static_cast<ssize_t>(bytes)) {
    return Error::Unavailable("cannot set up the sandbox: cannot write its seccomp program");
  }
  return Status::Ok();
}

std::vector<std::pair<int, int>> SandboxLaunch::child_fds() const {
  return {{ready_write_, kSandboxReadyFd},
          {stderr_copy_, kSandboxStderrFd},
          {seccomp_, kSandboxSeccompFd},
          {err_file_, 2}};
}

void SandboxLaunch::AfterSpawn() {
  CloseFd(&ready_write_);
  CloseFd(&stderr_copy_);
  CloseFd(&seccomp_);
}

Status SandboxLaunch::AwaitReady(const std::string& bwrap, std::chrono::milliseconds timeout) {
  CloseFd(&ready_write_);  // else EOF never comes
  CloseFd(&stderr_copy_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      why = "bwrap did not set the sandbox up within " + std::to_string(timeout.count() / 1000) +
            " s";
      break;
    }
    pollfd pfd{ready_read_, POLLIN, 0};
    const int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;  // the deadline check above reports it
    char byte = 0;
    ssize_t n;
    do {
      n = ::read(ready_read_, &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1 && byte == 'R') {
      CloseFd(&ready_read_);
      CloseFd(&err_file_);
      return Status::Ok();
    }
    break;  // EOF: bwrap (or the bridge) ended before the server's exec
  }
  std::string err;
  char buf[1024];
  for (off_t off = 0; err.size() < 4096;) {
    const ssize_t n = ::pread(err_file_, buf, sizeof buf, off);
    if (n <= 0) break;
    err.append(buf, static_cast<size_t>(n));
    off += n;
  }
  CloseFd(&ready_read_);
  CloseFd(&err_file_);
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
  if (why.empty()) why = err.empty() ? "bwrap failed before running the server" : err;
  // A hint only where bwrap's own words point at namespaces: a missing file or a mount
  // bwrap cannot make is named by bwrap itself and needs no guess.
  const bool namespaces = why.find("namespace") != std::string::npos ||
                          why.find("uid map") != std::string::npos ||
                          why.find("setting up uid") != std::string::npos;
  return Error::Unavailable("cannot set up the sandbox with " + bwrap + ": " + why +
                            (namespaces ? " (user namespaces may be disabled here)" : ""));
}

int RunSandboxBridge(const std::string& socket_path, uint16_t port,
                     const std::vector<std::string>& command, bool report_ready) {
  if (command.empty()) return 127;
  if (report_ready && (::fcntl(kSandboxReadyFd, F_SETFD, FD_CLOEXEC) != 0 ||
                       ::fcntl(kSandboxStderrFd, F_SETFD, FD_CLOEXEC) != 0)) {
    std::fprintf(stderr, "interlock sandbox-bridge: no status descriptors (fd %d, %d)\n",
                 kSandboxReadyFd, kSandboxStderrFd);
    return 127;
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  if (listener < 0 || ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 128) != 0) {
    std::fprintf(stderr, "interlock sandbox-bridge: cannot listen on 127.0.0.1:%u: %s\n",
                 static_cast<unsigned>(port), std::strerror(errno));
    return 127;
  }
  const pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    if (report_ready) {
      ::close(kSandboxReadyFd);
      ::close(kSandboxStderrFd);
    }
    Forward(listener, socket_path);
  }
  ::close(listener);
  if (report_ready) {
    // Set up: the server's stderr is Interlock's again, and SandboxLaunch is told.
    ::dup2(kSandboxStderrFd, 2);
    ::close(kSandboxStderrFd);
    ssize_t w;
    do {
      w = ::write(kSandboxReadyFd, "R", 1);
    } while (w < 0 && errno == EINTR);
    ::close(kSandboxReadyFd);
  }
  std::vector<char*> argv;
  for (const std::string& s : command) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::fprintf(stderr, "interlock sandbox-bridge: cannot run %s: %s\n", argv[0],
               std::strerror(errno));
  return 127;
}

}  // namespace interlock::mcp
