// The sandbox an MCP server runs in with `interlock mcp --sandbox` (docs/mcp.md,
// "Sandbox"): bubblewrap with every namespace unshared (its own network namespace holds
// only its own loopback), the file system read-only but for --sandbox-write directories
// and a private /tmp, Interlock's store, keys, config and common credential files masked,
// a new session, its own PID namespace, no new privileges, killed with Interlock.
//
// The server's only way out is the egress proxy: its Unix socket is bound into the
// sandbox, and `interlock sandbox-bridge`, started inside before the server, listens on
// 127.0.0.1:kBridgePort in the sandbox's own network namespace and forwards each
// connection to that socket. HTTP_PROXY, HTTPS_PROXY, http_proxy and https_proxy point
// at it; NO_PROXY and no_proxy are cleared.
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
#include <string>
#include <utility>
#include <vector>

#include "interlock/result.h"

namespace interlock::mcp {

inline constexpr uint16_t kBridgePort = 3128;
// Where the proxy's socket directory appears inside the sandbox.
inline constexpr char kSandboxSocketDir[] = "/tmp/.interlock-egress";
inline constexpr char kSandboxSocketName[] = "egress.sock";
// The descriptors bwrap passes through to the bridge: the status pipe and Interlock's
// own stderr (bwrap's fd 2 is the file SandboxLaunch reads on failure).
inline constexpr int kSandboxReadyFd = 3;
inline constexpr int kSandboxStderrFd = 4;

struct SandboxSpec {
  std::string bwrap;  // path of the bwrap binary
  // The bridge: interlock-sandbox-bridge next to this program when present (it starts in
  // ~1 ms), else this interlock program with its hidden `sandbox-bridge` subcommand.
  std::string bridge;
  bool bridge_is_subcommand = false;
  std::vector<std::string> read_paths;  // bound read-only (absolute, existing): paths under /tmp
  std::vector<std::string> write_dirs;  // bound read-write (absolute, existing)
  std::vector<std::string> hide;        // masked: directories by an empty tmpfs, files by /dev/null
  std::string socket_dir;               // host directory holding the proxy's socket
  // The bridge reports on kSandboxReadyFd and restores stderr from kSandboxStderrFd
  // (SandboxLaunch); false for a bwrap run with no status pipe.
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

// What must not be visible to the server: the store and its WAL/SHM/journal files, its
// key directory, Interlock's config and state directories, and the usual credential
// files of the user ($HOME/.ssh, .aws, .config/gcloud, .kube, .docker, .netrc, ...),
// those that exist.
std::vector<std::string> DefaultHiddenPaths(const std::string& store_path);

// The full argv: bwrap, its options, the bridge, "--", then `server`.
std::vector<std::string> SandboxArgv(const SandboxSpec& spec,
                                     const std::vector<std::string>& server);

// The in-sandbox bridge (`interlock sandbox-bridge`): listens on 127.0.0.1:port, forks a
// forwarder that relays each connection to the Unix socket `socket_path`, then execs
// `command` (this process becomes the server). With report_ready, just before the exec it
// writes one byte on kSandboxReadyFd and moves kSandboxStderrFd to stderr (SandboxLaunch).
// Returns only on failure (exit code 127).
int RunSandboxBridge(const std::string& socket_path, uint16_t port,
                     const std::vector<std::string>& command, bool report_ready);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_SANDBOX_H_
