// What the sandboxed server sees (mcp/sandbox.h): the trusted paths no write dir may
// reach, the server's own files, the masks and the bwrap argv. Kept apart from
// sandbox.cc, which the small interlock-sandbox-bridge program links alone.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "common/store_path.h"
#include "mcp/sandbox.h"

extern char** environ;

namespace interlock::mcp {
namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

// `a` is `b` or lies under it (both absolute and normal).
bool Within(const fs::path& a, const fs::path& b) {
  const std::string as = a.string(), bs = b.string();
  if (bs == "/") return true;
  return as == bs ||
         (as.size() > bs.size() && as.compare(0, bs.size(), bs) == 0 && as[bs.size()] == '/');
}

// Appends each directory entry `path` goes through as the kernel resolves it (a symlink's
// target's entries too) and returns where it ends: the entries a writer could rename or
// replace to redirect the path.
fs::path Walk(const fs::path& path, std::vector<fs::path>* entries, int depth) {
  fs::path cur = "/";
  for (const fs::path& part : path.relative_path()) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      cur = cur.parent_path();
      continue;
    }
    const fs::path entry = cur / part;
    entries->push_back(entry);
    std::error_code ec;
    if (depth < 40 && fs::is_symlink(fs::symlink_status(entry, ec))) {
      fs::path target = fs::read_symlink(entry, ec);
      if (!ec) {
        cur = Walk(target.is_absolute() ? target : cur / target, entries, depth + 1);
        continue;
      }
    }
    cur = entry;
  }
  return cur;
}

fs::path Absolute(const std::string& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  return ec ? fs::path(p) : a;
}

fs::path Canonical(const std::string& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(Absolute(p), ec);
  return ec ? Absolute(p).lexically_normal() : c;
}

const std::vector<std::string>& SystemDirs() {
  static const std::vector<std::string> dirs = {"/usr",   "/bin",   "/sbin",   "/lib",
                                                "/lib32", "/lib64", "/libx32", "/etc"};
  return dirs;
}

bool InSystemDir(const fs::path& p) {
  for (const std::string& d : SystemDirs()) {
    if (Within(p, d)) return true;
  }
  return false;
}

// Files of /etc a process with the caller's uid could read when that uid is root.
constexpr const char* kEtcSecrets[] = {
    "/etc/shadow",        "/etc/shadow-",     "/etc/gshadow",
    "/etc/gshadow-",      "/etc/sudoers",     "/etc/sudoers.d",
    "/etc/ssh",           "/etc/ssl/private", "/etc/security/opasswd",
    "/etc/krb5.keytab",   "/etc/wireguard",   "/etc/NetworkManager/system-connections",
    "/etc/ipsec.secrets", "/etc/interlock"};

// The directory a file of the server is bound with: its own, or for a file inside a
// node_modules tree the directory holding the tree; the file alone rather than `/` or a
// directory holding $HOME.
fs::path BindFor(const fs::path& file) {
  const std::string s = file.string();
  fs::path dir = file.parent_path();
  if (const size_t nm = s.find("/node_modules/"); nm != std::string::npos) {
    dir = s.substr(0, nm);
    if (dir.empty()) dir = "/";
  }
  const std::string home = Env("HOME");
  const bool too_wide = dir == "/" || (!home.empty() && Within(Canonical(home), dir));
  if (!too_wide) return dir;
  if (s.find("/node_modules/") != std::string::npos) return dir / "node_modules";
  return file;
}

std::string FindOnPath(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? Absolute(name).string() : std::string();
  }
  std::string path = Env("PATH");
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = path.find(':', start);
    const std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
    if (!dir.empty()) {
      const std::string c = dir + "/" + name;
      struct stat st {};
      if (::stat(c.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(c.c_str(), X_OK) == 0) {
        return Absolute(c).string();
      }
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

void AddUnique(std::vector<std::string>* v, const std::string& s) {
  if (std::find(v->begin(), v->end(), s) == v->end()) v->push_back(s);
}

}  // namespace

bool BwrapHasOption(const std::string& bwrap, const std::string& option) {
  static std::mutex mu;
  static std::map<std::string, std::string> help_of;  // bwrap -> its --help text
  std::lock_guard lock(mu);
  auto it = help_of.find(bwrap);
  if (it == help_of.end()) {
    std::string help;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) {
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_adddup2(&fa, p[1], 1);
      posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
      pid_t pid = -1;
      const char* argv[] = {bwrap.c_str(), "--help", nullptr};
      const int rc =
          ::posix_spawn(&pid, bwrap.c_str(), &fa, nullptr, const_cast<char**>(argv), environ);
      posix_spawn_file_actions_destroy(&fa);
      ::close(p[1]);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      char buf[4096];
      while (rc == 0 && help.size() < (1 << 20)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd pfd{p[0], POLLIN, 0};
        if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
        const ssize_t n = ::read(p[0], buf, sizeof buf);
        if (n <= 0) break;
        help.append(buf, static_cast<size_t>(n));
      }
      ::close(p[0]);
      if (rc == 0) {
        ::kill(pid, SIGKILL);  // done or late: either way it is not waited for again
        int status;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
      }
    }
    it = help_of.emplace(bwrap, std::move(help)).first;
  }
  return it->second.find(option) != std::string::npos;
}

std::vector<TrustedPath> InterlockTrustedPaths(const std::string& store_path) {
  std::vector<TrustedPath> t;
  if (!store_path.empty()) {
    t.push_back({"the store", store_path});
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
      t.push_back({"the store's " + std::string(suffix + 1) + " file", store_path + suffix});
    }
    t.push_back({"the audit keys and checkpoints", store_path + ".keys"});
  }
  if (auto def = DefaultStorePath(); def.ok()) {
    t.push_back({"the default state directory", fs::path(*def).parent_path().string()});
  }
  if (const std::string x = Env("XDG_CONFIG_HOME"); !x.empty()) {
    t.push_back({"Interlock's config directory", x + "/interlock"});
  } else if (const std::string h = Env("HOME"); !h.empty()) {
    t.push_back({"Interlock's config directory", h + "/.config/interlock"});
  }
  std::string bridge;
  bool sub = false;
  if (FindBridge(&bridge, &sub)) {
    char exe[4096] = {};
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) t.push_back({"the interlock program", std::string(exe, static_cast<size_t>(n))});
    if (!sub) t.push_back({"the sandbox bridge program", bridge});
  }
  return t;
}

Status CheckWriteDirs(const std::vector<std::string>& write_dirs,
                      const std::vector<TrustedPath>& trusted, const std::string& flag) {
  for (const TrustedPath& t : trusted) {
    if (t.path.empty()) continue;
    std::vector<fs::path> entries;
    const fs::path end = Walk(Absolute(t.path), &entries, 0);
    const fs::path resolved = Canonical(end.string());
    for (const std::string& w : write_dirs) {
      const fs::path dir = Canonical(w);
      bool hit = Within(dir, resolved) || Within(resolved, dir);
      for (const fs::path& e : entries) hit = hit || Within(e, dir);
      if (!hit) continue;
      const std::string how =
          Within(dir, resolved) && dir != resolved ? " lies inside " : " holds ";
      return Error::Invalid(flag + " " + w + how + t.what + " " + t.path +
                            ": a server that may write there could replace what Interlock "
                            "trusts. Give the server a directory that neither holds nor lies "
                            "inside Interlock's files (or move them: --store, --keys)");
    }
  }
  return Status::Ok();
}

std::vector<std::string> ServerFilePaths(const std::vector<std::string>& server,
                                         std::string* program) {
  std::vector<std::string> out;
  program->clear();
  if (server.empty()) return out;
  *program = FindOnPath(server[0]);
  if (!program->empty()) {
    for (const fs::path& p : {fs::path(*program), Canonical(*program)}) {
      if (!InSystemDir(p)) AddUnique(&out, BindFor(p.lexically_normal()).string());
    }
  }
  for (size_t i = 1; i < server.size(); ++i) {
    if (server[i].empty() || server[i][0] == '-') continue;
    struct stat st {};
    if (::stat(server[i].c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      const fs::path f = Canonical(server[i]);
      if (!InSystemDir(f)) AddUnique(&out, BindFor(f).string());
    }
    break;  // the first non-option argument only
  }
  return out;
}

std::vector<std::string> DefaultHiddenPaths(const std::string& store_path) {
  std::vector<std::string> candidates;
  if (!store_path.empty()) {
    const std::string abs = Absolute(store_path).string();
    for (const char* suffix : {"", "-wal", "-shm", "-journal", ".keys"}) {
      candidates.push_back(abs + suffix);
    }
  }
  if (const std::string x = Env("XDG_CONFIG_HOME"); !x.empty())
    candidates.push_back(x + "/interlock");
  if (const std::string x = Env("XDG_STATE_HOME"); !x.empty())
    candidates.push_back(x + "/interlock");
  if (const std::string home = Env("HOME"); !home.empty()) {
    for (const char* rel :
         {"/.config/interlock", "/.local/state/interlock", "/.ssh", "/.aws", "/.azure",
          "/.config/gcloud", "/.kube", "/.docker", "/.gnupg", "/.netrc", "/.git-credentials",
          "/.npmrc", "/.pypirc", "/.config/gh", "/.claude", "/.claude.json"}) {
      candidates.push_back(home + rel);
    }
  }
  std::vector<std::string> out;
  for (const std::string& c : candidates) {
    struct stat st {};
    if (::lstat(c.c_str(), &st) == 0) out.push_back(c);
  }
  return out;
}

namespace {

// A bind that would show the host's runtime directories, where its Unix sockets live
// (the session bus, docker.sock, agents' sockets: connecting needs no write access), is
// refused: the proxy is the server's one channel.
Status CheckNoHostSockets(const std::vector<std::string>& canonical,
                          const std::vector<std::string>& given, const std::string& flag) {
  std::vector<fs::path> runtime = {"/run", Canonical("/var/run")};
  if (const std::string x = Env("XDG_RUNTIME_DIR"); !x.empty()) runtime.push_back(Canonical(x));
  for (size_t i = 0; i < canonical.size(); ++i) {
    for (const fs::path& r : runtime) {
      if (!Within(r, canonical[i]) && !Within(canonical[i], r)) continue;
      return Error::Invalid(flag + " " + given[i] + " shows " + r.string() +
                            ", where the host's Unix sockets are: name the directories the "
                            "server needs instead (its one way out is the egress proxy)");
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckSandboxRequest(const SandboxRequest& req) {
  std::vector<TrustedPath> trusted = InterlockTrustedPaths(req.store_path);
  trusted.insert(trusted.end(), req.trusted.begin(), req.trusted.end());
  return CheckWriteDirs(req.write, trusted, req.write_flag);
}

Result<SandboxSpec> PrepareSandbox(const SandboxRequest& req) {
  SandboxSpec spec;
  for (const std::string& d : req.write) {
    std::error_code ec;
    auto canon = fs::canonical(d, ec);
    if (ec || !fs::is_directory(canon)) {
      return Error::Invalid(req.write_flag + " " + d + ": not an existing directory");
    }
    spec.write_dirs.push_back(canon.string());
  }
  for (const std::string& d : req.read) {
    std::error_code ec;
    auto canon = fs::canonical(d, ec);
    if (ec) return Error::Invalid(req.read_flag + " " + d + ": does not exist");
    spec.read_paths.push_back(canon.string());
  }
  if (Status s = CheckNoHostSockets(spec.read_paths, req.read, req.read_flag); !s.ok()) {
    return s.error();
  }
  if (Status s = CheckNoHostSockets(spec.write_dirs, req.write, req.write_flag); !s.ok()) {
    return s.error();
  }
  if (Status s = CheckSandboxRequest(req); !s.ok()) return s.error();
  // Masked where a read bind shows them: the store and credentials, the caller's own
  // trusted files (config, keys, policies); not Interlock's programs, which the bridge is.
  spec.hide = DefaultHiddenPaths(req.store_path);
  spec.hide.insert(spec.hide.end(), req.hide.begin(), req.hide.end());
  for (const TrustedPath& t : req.trusted) spec.hide.push_back(t.path);
  // What Interlock cannot check itself comes last: a refusal above needs no bwrap.
  auto bwrap = FindBwrap();
  if (!bwrap.ok()) return bwrap.error();
  spec.bwrap = *bwrap;
  if (!FindBridge(&spec.bridge, &spec.bridge_is_subcommand)) {
    return Error::Unavailable("cannot find this program's path for the sandbox bridge");
  }
  if (::access(spec.bridge.c_str(), X_OK) != 0) {
    return Error::Unavailable("the sandbox bridge " + spec.bridge + " is not executable");
  }
  spec.disable_userns = BwrapHasOption(spec.bwrap, "--disable-userns");
  return spec;
}

namespace {

using Binds = std::vector<std::pair<std::string, bool>>;  // path, writable

// An empty root: the system directories read-only, as the host has them (a merged /usr
// has /bin, /lib... as symlinks), a fresh /proc, a minimal /dev, a private /tmp and HOME.
void AppendSystemView(std::vector<std::string>* a) {
  for (const std::string& d : SystemDirs()) {
    std::error_code ec;
    const auto st = fs::symlink_status(d, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_symlink(st)) {
      a->insert(a->end(), {"--symlink", fs::read_symlink(d, ec).string(), d});
    } else if (fs::is_directory(st)) {
      a->insert(a->end(), {"--ro-bind", d, d});
    }
  }
  a->insert(a->end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--perms", "0700",
                       "--dir", kSandboxHome});
}

// Every bind, parents before children so that a nested bind lands on its parent's.
Binds SortedBinds(const SandboxSpec& spec, const std::vector<std::string>& server_files) {
  Binds binds;
  for (const std::string& d : server_files) binds.emplace_back(d, false);
  if (!InSystemDir(spec.bridge)) binds.emplace_back(spec.bridge, false);
  for (const std::string& d : spec.read_paths) binds.emplace_back(d, false);
  for (const std::string& d : spec.write_dirs) binds.emplace_back(d, true);
  std::stable_sort(binds.begin(), binds.end(), [](const auto& x, const auto& y) {
    return std::count(x.first.begin(), x.first.end(), '/') <
           std::count(y.first.begin(), y.first.end(), '/');
  });
  return binds;
}

bool Shown(const Binds& binds, const fs::path& p) {
  for (const auto& b : binds) {
    if (Within(p, b.first)) return true;
  }
  return InSystemDir(p);
}

// Masks go last, so that no bind uncovers them, and only where a bind shows the path.
void AppendMasks(const SandboxSpec& spec, const Binds& binds, std::vector<std::string>* a) {
  std::vector<std::string> masks;
  for (const std::string& h : spec.hide) AddUnique(&masks, Canonical(h).string());
  for (const char* e : kEtcSecrets) AddUnique(&masks, e);
  // A directory mask hides everything below it; a mask inside it has no mount point
  // there (the empty tmpfs is read-only), so it is left out rather than failing the start.
  std::vector<std::pair<std::string, bool>> shown;  // path, is a directory
  for (const std::string& h : masks) {
    struct stat st {};
    if (!Shown(binds, h) || ::stat(h.c_str(), &st) != 0) continue;
    shown.emplace_back(h, S_ISDIR(st.st_mode));
  }
  for (const auto& [h, dir] : shown) {
    bool covered = false;
    for (const auto& [other, other_dir] : shown) {
      covered = covered || (other_dir && other != h && Within(h, other));
    }
    if (covered) continue;
    if (dir) {
      a->insert(a->end(), {"--tmpfs", h, "--remount-ro", h});
    } else {
      a->insert(a->end(), {"--ro-bind", "/dev/null", h});
    }
  }
}

// The working directory (Interlock's when a bind shows it, else HOME), HOME, TMPDIR and
// the proxy; the rest of the environment is the caller's (child_process.h).
void AppendEnvironment(const Binds& binds, std::vector<std::string>* a) {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  const bool cwd_shown = !ec && Shown(binds, cwd) && !InSystemDir(cwd);
  a->insert(a->end(), {"--chdir", cwd_shown ? cwd.string() : std::string(kSandboxHome)});
  a->insert(a->end(), {"--setenv", "HOME", kSandboxHome, "--setenv", "TMPDIR", "/tmp"});
  const std::string proxy = "http://127.0.0.1:" + std::to_string(kBridgePort);
  for (const char* v : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}) {
    a->insert(a->end(), {"--setenv", v, proxy});
  }
  for (const char* v : {"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "XDG_RUNTIME_DIR",
                        "DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK"}) {
    a->insert(a->end(), {"--unsetenv", v});
  }
}

}  // namespace

std::vector<std::string> SandboxArgv(const SandboxSpec& spec,
                                     const std::vector<std::string>& server) {
  const std::string uid = std::to_string(kSandboxUid);
  std::vector<std::string> a = {
      spec.bwrap,   "--unshare-all", "--unshare-user",    "--uid",        uid, "--gid", uid,
      "--cap-drop", "ALL",           "--die-with-parent", "--new-session"};
  if (spec.disable_userns) a.push_back("--disable-userns");
  if (spec.report_ready) a.insert(a.end(), {"--seccomp", std::to_string(kSandboxSeccompFd)});
  AppendSystemView(&a);
  std::string program;
  const Binds binds = SortedBinds(spec, ServerFilePaths(server, &program));
  for (const auto& [path, writable] : binds) {
    a.insert(a.end(), {writable ? "--bind" : "--ro-bind", path, path});
  }
  AppendMasks(spec, binds, &a);
  // Read-only: connecting to a socket needs no write access to its file system, and the
  // server cannot replace the socket.
  a.insert(a.end(), {"--ro-bind", spec.socket_dir, kSandboxSocketDir, "--remount-ro", "/"});
  AppendEnvironment(binds, &a);
  a.insert(a.end(), {"--", spec.bridge});
  if (spec.bridge_is_subcommand) a.push_back("sandbox-bridge");
  a.insert(a.end(), {"--socket", std::string(kSandboxSocketDir) + "/" + kSandboxSocketName,
                     "--port", std::to_string(kBridgePort)});
  if (spec.report_ready) a.push_back("--ready");
  a.push_back("--");
  if (!server.empty()) a.push_back(program.empty() ? server[0] : program);
  a.insert(a.end(), server.begin() + (server.empty() ? 0 : 1), server.end());
  return a;
}

}  // namespace interlock::mcp
