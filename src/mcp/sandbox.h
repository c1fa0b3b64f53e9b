// The sandbox an MCP server runs in with `interlock mcp --sandbox` and a daemon's `sandbox:`
// upstreams (docs/mcp.md, "Sandbox"). The server is assumed hostile. bubblewrap runs it:
//  - in its own user namespace as uid/gid 65534 with every capability dropped (CapEff 0),
//    no new privileges, no nested user namespaces where bwrap can refuse them, a new
//    session (no TIOCSTI into Interlock's terminal), killed with Interlock, whoever runs
//    Interlock (root included: the server then holds no capability either), and no
//    set-ID bits on what it creates (kSandboxSeccompFd: as root its files are root's);
//  - with every other namespace unshared: its network namespace holds only its own
//    loopback, so no host socket, abstract ones included, is reachable;
//  - on an empty root, not the host's `/` with holes: the system directories read-only
//    (/usr, /bin, /sbin, /lib*, /etc minus its secrets), a fresh /proc, a minimal /dev, a
//    private /tmp holding HOME (kSandboxHome), the server's own files read-only (its
//    program's and script's directories, ServerFilePaths), Interlock's bridge read-only,
//    --sandbox-read read-only, --sandbox-write read-write; masks over Interlock's files and
//    the usual credential files where a bound path shows them.
// No writable directory may hold or lie inside anything Interlock trusts
// (CheckWriteDirs): a server that can rename a parent can replace what a mask covers, so
// such a start is refused, not masked.
//
// The server's only way out is the egress proxy: its Unix socket is bound into the
// sandbox, and `interlock sandbox-bridge`, started inside before the server, listens on
// 127.0.0.1:kBridgePort in the sandbox's own network namespace and forwards each
// connection to that socket. HTTP_PROXY, HTTPS_PROXY, http_proxy and https_proxy point
// at it; NO_PROXY and no_proxy are cleared. The rest of the server's environment is the
// caller's business (child_process.h).
//
// No separate probe: the real bwrap run is checked (SandboxLaunch). bwrap's stderr goes
// to a private unlinked file, and the bridge, once the sandbox is set up and just before
// it execs the server, writes one byte on a status pipe and puts the server's stderr
// back on Interlock's. EOF (bwrap failed before exec: no user namespaces, a mount it
// cannot make, a bwrap that runs nothing) or no byte in time is a refusal carrying
// bwrap's own message; the server is never run unsandboxed.
// Thread-safety: plain functions; SandboxLaunch has one owner.
#ifndef INTERLOCK_MCP_SANDBOX_H_
#define INTERLOCK_MCP_SANDBOX_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "interlock/result.h"

namespace interlock::mcp {

class ChildProcess;

inline constexpr uint16_t kBridgePort = 3128;
// Where the proxy's socket directory appears inside the sandbox.
inline constexpr char kSandboxSocketDir[] = "/tmp/.interlock-egress";
inline constexpr char kSandboxSocketName[] = "egress.sock";
// The descriptors bwrap passes through to the bridge: the status pipe and Interlock's
// own stderr (bwrap's fd 2 is the file SandboxLaunch reads on failure).
inline constexpr int kSandboxReadyFd = 3;
inline constexpr int kSandboxStderrFd = 4;
// The seccomp program bwrap loads before it runs the bridge (`--seccomp 5`): it refuses
// the set-user-ID and set-group-ID bits (chmod and file creation) so that a server whose
// uid is root outside (Interlock run as root) cannot leave a setuid-root program in a
// write directory; and openat2, io_uring (which would bypass the check), fchmodat2 and
// foreign-architecture system calls, which get ENOSYS or EPERM.
inline constexpr int kSandboxSeccompFd = 5;
// The server's HOME: an empty directory in its private /tmp, gone with the sandbox.
inline constexpr char kSandboxHome[] = "/tmp/home";
// The server's uid and gid inside its user namespace (nobody/nogroup). Outside, the
// namespace maps it to the uid that ran bwrap, Interlock's own.
inline constexpr int kSandboxUid = 65534;

struct SandboxSpec {
  std::string bwrap;  // path of the bwrap binary
  // The bridge: interlock-sandbox-bridge next to this program when present (it starts in
  // ~1 ms), else this interlock program with its hidden `sandbox-bridge` subcommand.
  std::string bridge;
  bool bridge_is_subcommand = false;
  std::vector<std::string> read_paths;  // bound read-only (canonical, existing)
  std::vector<std::string> write_dirs;  // bound read-write (canonical, existing; CheckWriteDirs)
  // Masked where a bound path shows them: directories by an empty tmpfs, files by /dev/null.
  std::vector<std::string> hide;
  std::string socket_dir;  // host directory holding the proxy's socket
  // bwrap takes --disable-userns (0.8+): no user namespace can be made inside.
  bool disable_userns = false;
  // The bridge reports on kSandboxReadyFd and restores stderr from kSandboxStderrFd, and
  // bwrap loads the seccomp program from kSandboxSeccompFd (SandboxLaunch); false for a
  // bwrap run without SandboxLaunch's descriptors.
  bool report_ready = true;
};

// One sandboxed start, checked without a second bwrap run. Prepare(), spawn the argv of
// SandboxArgv() with child_fds() mapped in the child (parent fd -> child fd), call
// AfterSpawn(), then AwaitReady(): Ok once the bridge is about to exec the server, else
// kUnavailable "cannot set up the sandbox with BWRAP: <bwrap's message> ..." (the caller
// then kills the child and does not start the server).
class SandboxLaunch {
 public:
  SandboxLaunch() = default;
  ~SandboxLaunch();
  SandboxLaunch(const SandboxLaunch&) = delete;
  SandboxLaunch& operator=(const SandboxLaunch&) = delete;

  Status Prepare();
  std::vector<std::pair<int, int>> child_fds() const;
  void AfterSpawn();
  Status AwaitReady(const std::string& bwrap, std::chrono::milliseconds timeout);

 private:
  int ready_read_ = -1;
  int ready_write_ = -1;
  int err_file_ = -1;
  int stderr_copy_ = -1;
  int seccomp_ = -1;
};

// How long AwaitReady waits for bwrap to set the sandbox up before refusing.
inline constexpr std::chrono::milliseconds kSandboxSetupTimeout{20000};

// A private directory (0700, /tmp/interlock-egress-XXXXXX) for the egress proxy's socket;
// removed with everything in it on destruction.
class SandboxSocketDir {
 public:
  SandboxSocketDir() = default;
  ~SandboxSocketDir();
  SandboxSocketDir(const SandboxSocketDir&) = delete;
  SandboxSocketDir& operator=(const SandboxSocketDir&) = delete;
  bool Create();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The bridge program for SandboxSpec: interlock-sandbox-bridge next to the running
// program when present, else the running program itself (`sandbox-bridge` subcommand).
// False when the running program's path cannot be read.
bool FindBridge(std::string* bridge, bool* is_subcommand);

// The bwrap binary on PATH; kUnavailable with the reason when there is none.
Result<std::string> FindBwrap();

// Whether `bwrap --help` lists `option` (cached per binary; false when it cannot be run).
bool BwrapHasOption(const std::string& bwrap, const std::string& option);

// Something Interlock trusts: no sandbox may write it or any directory entry on its way.
struct TrustedPath {
  std::string what;  // for messages: "the store", "the audit keys and checkpoints", ...
  std::string path;  // absolute or relative to the current directory; need not exist
};

// What every sandbox must leave alone: the store at `store_path` (if a file) with its
// -wal, -shm and -journal files and its keys and checkpoints (STORE.keys), the default
// state and config directories, and Interlock's own programs (this one and the bridge).
// Callers add their policies, config file, --keys directory and CA files.
std::vector<TrustedPath> InterlockTrustedPaths(const std::string& store_path);

// OK when no directory of `write_dirs` (canonical) contains, equals, lies inside, or
// holds a directory entry (a symlink or parent) on the way to any of `trusted`; else
// kInvalid naming the first overlap, e.g. "--sandbox-write /home/u holds the default state
// directory /home/u/.local/state/interlock: a server that may write there could replace
// it". `flag` names the option in the message.
Status CheckWriteDirs(const std::vector<std::string>& write_dirs,
                      const std::vector<TrustedPath>& trusted, const std::string& flag);

// The read-only binds the server's own files need, outside the system directories: the
// directory of its program (PATH searched on the host) and of the first argument naming
// an existing file (its script); for a file inside a node_modules tree, the directory
// holding that tree. Never `/` or a directory holding $HOME: then the file alone.
// `*program` is set to the program's absolute path ("" when it cannot be found), which
// the sandbox runs instead of a PATH lookup inside.
std::vector<std::string> ServerFilePaths(const std::vector<std::string>& server,
                                         std::string* program);

// Everything a door needs to run a sandboxed server, checked once: bwrap, the bridge,
// the canonical read and write paths, the write-dir check against `trusted`, the masks.
// `what` prefixes messages ("--sandbox" or "upstream NAME"); `write_flag` / `read_flag`
// name the options ("--sandbox-write" or "sandbox.write"). The caller sets socket_dir.
struct SandboxRequest {
  std::string what = "--sandbox";
  std::string write_flag = "--sandbox-write";
  std::string read_flag = "--sandbox-read";
  std::vector<std::string> write;
  std::vector<std::string> read;
  std::vector<std::string> hide;     // beyond DefaultHiddenPaths(store_path)
  std::string store_path;            // SQLite file; "" for PostgreSQL
  std::vector<TrustedPath> trusted;  // beyond InterlockTrustedPaths(store_path)
};
Result<SandboxSpec> PrepareSandbox(const SandboxRequest& request);

// PrepareSandbox's write-dir check alone (no bwrap needed): CheckWriteDirs of
// request.write against InterlockTrustedPaths(request.store_path) and request.trusted.
Status CheckSandboxRequest(const SandboxRequest& request);

// What must not be visible to the server: the store and its WAL/SHM/journal files, its
// key directory, Interlock's config and state directories, and the usual credential
// files of the user ($HOME/.ssh, .aws, .config/gcloud, .kube, .docker, .netrc, ...),
// those that exist.
std::vector<std::string> DefaultHiddenPaths(const std::string& store_path);

// The full argv: bwrap, its options, the bridge, "--", then `server` (its program made
// absolute, ServerFilePaths).
std::vector<std::string> SandboxArgv(const SandboxSpec& spec,
                                     const std::vector<std::string>& server);

// The one start of an MCP server, whichever door and whether it is a gateway's upstream
// or a rehearsal's staging server: without `sandbox`, `server` as a plain child with `env`
// (ChildProcess); with it, `server` inside that sandbox (SandboxArgv), the bwrap run
// checked by SandboxLaunch. On any failure the child is killed and the error returned
// ("cannot set up the sandbox with BWRAP: ..."): a server meant to be contained never
// runs uncontained.
Result<std::unique_ptr<ChildProcess>> SpawnServer(const std::vector<std::string>& server,
                                                  const std::map<std::string, std::string>& env,
                                                  const SandboxSpec* sandbox);

// The in-sandbox bridge (`interlock sandbox-bridge`): listens on 127.0.0.1:port, forks a
// forwarder that relays each connection to the Unix socket `socket_path`, then execs
// `command` (this process becomes the server). With report_ready, just before the exec it
// writes one byte on kSandboxReadyFd and moves kSandboxStderrFd to stderr (SandboxLaunch).
// Returns only on failure (exit code 127).
int RunSandboxBridge(const std::string& socket_path, uint16_t port,
                     const std::vector<std::string>& command, bool report_ready);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_SANDBOX_H_
