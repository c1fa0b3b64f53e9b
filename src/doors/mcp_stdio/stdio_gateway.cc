// The MCP gateway over stdio (`interlock mcp`; the CLI's src/cli/mcp_cmd.cc parses its flags).
//
// The MCP client launches `interlock mcp --policy P -- SERVER [ARGS...]` instead of the
// server. Interlock spawns the server as a child (ChildProcess: RAII, process group,
// always reaped), relays newline-delimited JSON-RPC both ways through mcp::Gateway, and
// passes the server's stderr through. The child's environment is explicit
// (mcp/server_env.h): the base variables, --pass-env, and the secrets named with
// --secret-env / --secret-file, which Interlock puts there (the agent's configuration
// never holds them) and masks, with the --token-env bearer, in all the server sends.
//
// Threads: the main thread reads the client (stdin) and runs Gateway::OnClientLine; one
// thread reads the server (the child's stdout) and runs Gateway::OnServerLine. Writes to
// stdout and to the child's stdin each go through a mutex, one whole line at a time.
// Session end: client EOF withdraws the approvals of calls still held, closes the
// child's stdin and waits (bounded) for it to exit; upstream exit answers every pending
// request with an error and ends the session with exit code 1.
// With --daemon the daemon decides every call and answers the agent's view of the tools
// (POST /v1/tools/view): no local policy is read, and --policy is ignored with a warning.
#include "doors/mcp_stdio/stdio_gateway.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "common/json.h"
#include "common/store_path.h"
#include "common/time.h"
#include "core/app/calls.h"
#include "core/app/standalone.h"
#include "core/guard.h"
#include "mcp/child_process.h"
#include "mcp/daemon_enforcer.h"
#include "mcp/framing.h"
#include "mcp/gateway.h"
#include "mcp/guard_enforcer.h"
#include "mcp/pins.h"
#include "mcp/sandbox.h"
#include "mcp/server_env.h"
#include "mcp/staging.h"
#include "mcp/tool_view.h"

namespace interlock::mcp_stdio {
namespace {

namespace json = boost::json;

// The exit codes of the `interlock` program (cli/command.h).
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

using McpOptions = StdioGatewayOptions;

// How the gateway reports a failure to start: "interlock mcp: MESSAGE" on stderr, and the
// usage exit code (as the CLI's Fail).
int Fail(std::string_view message) {
  std::cerr << "interlock mcp: " << message << '\n';
  return kExitUsage;
}
int Fail(const Error& e) { return Fail(e.message); }

// A pipe whose write end wakes a LineReader; closed on destruction.
class WakePipe {
 public:
  WakePipe() {
    if (pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~WakePipe() {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  WakePipe(const WakePipe&) = delete;
  WakePipe& operator=(const WakePipe&) = delete;
  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  void Wake() {
    if (fds_[1] >= 0) (void)!write(fds_[1], "x", 1);
  }

 private:
  int fds_[2];
};

// SIGTERM and SIGINT end the session as a client EOF does (held approvals withdrawn, the
// server stopped, the run ended) instead of killing the process with the run left open:
// the handler records the signal and wakes the client relay through this pipe's write end.
std::atomic<int> g_stop_wake_fd{-1};
std::atomic<int> g_stop_signal{0};

extern "C" void OnStopSignal(int sig) {
  g_stop_signal.store(sig);
  const int fd = g_stop_wake_fd.load();
  if (fd >= 0) (void)!write(fd, "x", 1);
}

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

// Standalone: the local policy decides; sets the policy and its agent. --daemon: the
// daemon's policies do and a local copy would only drift from them, so none is read (an
// empty set; --policy is ignored with a warning) and the agent is --agent, if given.
Status LoadLocalPolicy(const McpOptions& opt, std::shared_ptr<const policy::PolicySet>* set,
                       std::string* agent_id) {
  *set = std::make_shared<policy::PolicySet>();
  *agent_id = opt.agent;
  if (!opt.daemon.empty()) {
    if (!opt.policy.empty()) {
      std::cerr << "interlock mcp: --policy " << opt.policy
                << " is ignored with --daemon: the daemon's policies decide every call and "
                   "which tools are listed\n";
    }
    if (!opt.workspace.empty()) {
      std::cerr << "interlock mcp: --workspace " << opt.workspace
                << " is ignored with --daemon: ${workspace} in the daemon's policies is the "
                   "daemon's workspace\n";
    }
    return Status::Ok();
  }
  auto workspace = core::WorkspaceDir(opt.workspace);
  if (!workspace.ok()) return Error::Invalid("--workspace: " + workspace.error().message);
  auto loaded = core::LoadPolicyFile(opt.policy, std::move(*workspace), nullptr);
  if (!loaded.ok()) {
    return Error::Invalid("policy " + opt.policy + " is invalid:\n" + loaded.error().message);
  }
  *set = std::move(*loaded);
  if (agent_id->empty()) {
    if ((*set)->agents.size() != 1) {
      return Error::Invalid("the policy holds several agents; pass --agent ID");
    }
    *agent_id = (*set)->agents.begin()->first;
  } else if ((*set)->Find(*agent_id) == nullptr) {
    return Error::Invalid("no agent " + *agent_id + " in " + opt.policy);
  }
  core::WarnShadowMode(**set, *agent_id, std::cerr);
  return Status::Ok();
}

// The server's complete environment (mcp/server_env.h) and the values masked in all it
// sends. Secrets come from Interlock's own environment or files and go to the child only;
// the bearer of --token-env (Interlock's credential with the daemon) never goes to it
// and is masked too.
Status ServerEnvironment(const McpOptions& opt, std::map<std::string, std::string>* env,
                         std::vector<std::string>* masked) {
  mcp::ServerEnvSpec spec;
  spec.pass = opt.pass_env;
  spec.forbidden = {std::string(mcp::kInterlockTokenVariable)};
  if (!opt.token_env.empty()) spec.forbidden.push_back(opt.token_env);
  for (const std::string& name : spec.forbidden) {
    const char* bearer = std::getenv(name.c_str());
    if (bearer != nullptr && *bearer != '\0') masked->emplace_back(bearer);
  }
  for (const std::string& name : opt.secret_env) {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0')
      return Error::Invalid("--secret-env " + name + ": variable is not set");
    spec.secrets[name] = v;
    masked->emplace_back(v);
  }
  for (const std::string& f : opt.secret_file) {
    const size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0)
      return Error::Invalid("--secret-file wants NAME=PATH: " + f);
    std::ifstream in(f.substr(eq + 1), std::ios::binary);
    if (!in) return Error::Invalid("--secret-file " + f + ": cannot read the file");
    std::string v((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    if (v.empty()) return Error::Invalid("--secret-file " + f + ": the file is empty");
    spec.secrets[f.substr(0, eq)] = v;
    masked->push_back(std::move(v));
  }
  auto built = mcp::BuildServerEnv(spec, mcp::ProcessEnvLookup());
  if (!built.ok()) return built.error();
  *env = std::move(*built);
  return Status::Ok();
}

// One stdio gateway session, built by named phases in order, then relayed until either
// side ends.
//
// Members are declared in the order the phases build them, so C++ destroys them in the
// reverse order: the staging servers and the child before the egress proxy that carries
// their traffic, the proxy before its decider, the enforcers before the Guard, the Guard
// and the pins before the store. A phase that fails leaves the later members empty, so an
// early exit tears down exactly what was built. After the relay, End() stops the server
// and the proxy and ends the run before the members go.
class McpSession {
 public:
  explicit McpSession(const McpOptions& opt) : opt_(opt) {}
  McpSession(const McpSession&) = delete;
  McpSession& operator=(const McpSession&) = delete;

  int Run() {
    using Phase = int (McpSession::*)();
    for (Phase phase :
         {&McpSession::Prepare, &McpSession::OpenStore, &McpSession::StartRun,
          &McpSession::StartSandbox, &McpSession::SpawnServer, &McpSession::PrepareStaging}) {
      if (const int code = (this->*phase)(); code != kExitOk) return code;
    }
    const int code = Relay();
    End();
    return code;
  }

 private:
  // The flags, the policy and the server's environment: nothing is started yet.
  int Prepare() {
    if (opt_.server.empty()) {
      return Fail("no server command; usage: interlock mcp --policy P -- CMD");
    }
    ::signal(SIGPIPE, SIG_IGN);  // a dead child or client is seen as a write error
    InstallStopHandlers();       // before the run starts: a signal after it ends it
    // Before any secret is read: a same-user server cannot read this process's environment
    // or memory through /proc (mcp/server_env.h).
    if (Status s = mcp::ProtectProcessSecrets(); !s.ok()) return Fail(s.error());
    if (Status s = LoadLocalPolicy(opt_, &set_, &agent_id_); !s.ok()) {
      return Fail(s.error());
    }
    if (Status s = ServerEnvironment(opt_, &child_env_, &secrets_); !s.ok()) {
      return Fail(s.error());
    }
    for (const std::string& m : opt_.forward_methods) {
      if (Status s = mcp::ValidForwardMethod(m); !s.ok()) {
        return Fail("--forward-method: " + s.error().message);
      }
    }
    return kExitOk;
  }

  int OpenStore() {
    if (opt_.stores == nullptr) return Fail("no local store to decide with");
    store_path_ = opt_.store;
    if (store_path_.empty()) {
      auto p = DefaultStorePath();
      if (!p.ok()) return Fail(p.error().message);
      store_path_ = *p;
    }
    if (opt_.stores->IsPostgres(store_path_)) {
      // The stdio gateway's store is this machine's (its audit key sits next to the file);
      // a fleet's gateway is the daemon's /mcp/{upstream} (docs/mcp.md).
      return Fail(
          "--store: a PostgreSQL store is not supported by the stdio gateway; serve the MCP "
          "server from `interlock serve` on that store (mcp: upstreams in its config), or "
          "keep a local SQLite store here");
    }
    if (opt_.durability != "full" && opt_.durability != "normal") {
      return Fail("--durability wants full or normal, not " + opt_.durability);
    }
    if (Status st = opt_.stores->PreparePlace(store_path_, opt_.create, "mcp"); !st.ok()) {
      return Fail("store " + store_path_ + ": " + st.error().message);
    }
    auto store =
        opt_.stores->Open(store_path_, opt_.durability == "full", core::LocalStoreUse::kFewCallers);
    if (!store.ok()) return Fail("store " + store_path_ + ": " + store.error().message);
    store_ = std::move(*store);
    // The pins on a connection of their own to the same file (what the store's own
    // OpenPinRows opens), so this door asks no store method itself.
    auto pin_rows = opt_.stores->OpenPinRows(store_path_);
    if (!pin_rows.ok()) return Fail(pin_rows.error());
    pins_ = std::make_unique<mcp::PinStore>(std::move(pin_rows).value());
    return kExitOk;
  }

  // Who decides: the daemon (--daemon) or the local Guard, each in a run of its own.
  int StartRun() {
    source_ = std::make_unique<core::PolicySource>(set_);
    guard_ = std::make_unique<core::Guard>(source_.get(), store_.get(), &clock_, nullptr);
    // OpenTelemetry (docs/telemetry.md): the OTEL_* variables only; decision spans.
    if (opt_.start_telemetry) {
      auto otel = opt_.start_telemetry();
      if (!otel.ok()) return Fail(otel.error());
      otel_ = std::move(*otel);
    }
    if (otel_) guard_->SetTelemetry(otel_.get());
    return opt_.daemon.empty() ? StartLocalRun() : StartDaemonRun();
  }

  // Daemon mode: decisions, approvals, budgets, audit and the tool view live in
  // `interlock serve`; the local store keeps only the tool pins.
  int StartDaemonRun() {
    if (opt_.daemon_connector == nullptr) {
      return Fail(Error::Invalid("no daemon client was handed to the gateway (--daemon " +
                                 opt_.daemon + ")"));
    }
    auto d = mcp::DaemonEnforcerFromEnv(*opt_.daemon_connector, opt_.daemon, opt_.token_env,
                                        opt_.daemon_ca);
    if (!d.ok()) return Fail(d.error());
    daemon_ = std::move(*d);
    if (auto run = daemon_->StartRun(); run.ok()) {
      if (!agent_id_.empty() && run->agent_id != agent_id_) {
        return Fail("the token of --token-env " + opt_.token_env + " is for agent " +
                    run->agent_id + ", not " + agent_id_);
      }
      run_id_ = run->run_id;
      agent_id_ = run->agent_id;
    } else {
      // Not fatal: every call is denied (STORE_UNAVAILABLE) and no tool is listed until
      // the daemon answers.
      std::cerr << "interlock mcp: " << run.error().message
                << "; calls are denied and no tool is listed until the daemon answers\n";
    }
    enforcer_ = daemon_.get();
    tool_view_ = daemon_.get();
    std::cerr << "interlock mcp: agent " << (agent_id_.empty() ? "(unknown)" : agent_id_)
              << ", daemon " << opt_.daemon << ", run "
              << (run_id_.empty() ? "(not started)" : run_id_) << '\n';
    return kExitOk;
  }

  int StartLocalRun() {
    calls_ = std::make_unique<core::Calls>(store_.get(), source_.get(), &clock_);
    auto run = calls_->StartRun(agent_id_);
    if (!run.ok()) return Fail("cannot create a run: " + run.error().message);
    run_id_ = run->run_id;
    local_ = std::make_unique<mcp::GuardEnforcer>(guard_.get(), store_.get(), &clock_, agent_id_,
                                                  run_id_);
    enforcer_ = local_.get();
    local_view_ = std::make_unique<mcp::PolicyToolView>(source_.get(), agent_id_);
    tool_view_ = local_view_.get();
    std::cerr << "interlock mcp: agent " << agent_id_ << ", run " << run_id_ << ", store "
              << store_path_ << ", durability " << opt_.durability << '\n';
    return kExitOk;
  }

  // --sandbox: the server runs under bubblewrap and reaches the network only through the
  // egress proxy, whose every connection the core decides (agent and run of this session).
  // The same sandbox contains the staging servers of --rehearse-upstream (SpawnServer).
  int StartSandbox() {
    if (!opt_.sandbox) return kExitOk;
    mcp::SandboxRequest request;
    request.write = opt_.sandbox_write;
    request.read = opt_.sandbox_read;
    request.store_path = store_path_;
    for (const std::string& f : opt_.secret_file) {
      if (size_t eq = f.find('='); eq != std::string::npos)
        request.hide.push_back(f.substr(eq + 1));
    }
    if (!opt_.policy.empty()) request.trusted.push_back({"the policy", opt_.policy});
    if (!opt_.daemon_ca.empty()) {
      request.trusted.push_back({"the daemon's CA file", opt_.daemon_ca});
    }
    auto prepared = mcp::PrepareSandbox(request);
    if (!prepared.ok()) {
      return Fail("--sandbox: " + prepared.error().message + "; the server is not started");
    }
    mcp::SandboxSpec spec = std::move(*prepared);
    if (!socket_dir_.Create()) return Fail("--sandbox: cannot create a socket directory in /tmp");
    spec.socket_dir = socket_dir_.path();
    if (const int code = StartEgressProxy(); code != kExitOk) return code;
    std::cerr << "interlock mcp: sandboxed with " << spec.bwrap << " (" << spec.write_dirs.size()
              << " writable dir(s), " << spec.hide.size()
              << " path(s) masked); egress only through Interlock's proxy\n";
    sandbox_ = std::move(spec);
    return kExitOk;
  }

  // The egress proxy on the sandbox's socket; each connection is decided for the one call
  // in flight, if there is exactly one.
  int StartEgressProxy() {
    auto in_flight = [&gateway_ptr = gateway_ptr_]() -> std::string {
      mcp::Gateway* g = gateway_ptr.load();
      if (g == nullptr) return {};
      auto ids = g->InFlightCallIds();
      return ids.size() == 1 ? ids.front() : std::string();
    };
    if (!opt_.sandbox_egress) return Fail("--sandbox: no egress proxy to run the server behind");
    // With --daemon the daemon decides and audits each connection in this session's run
    // (POST /v1/runs/{run}/egress), failing closed when it cannot; else the local Guard.
    core::SessionEgressStarter start =
        opt_.sandbox_egress({guard_.get(), store_.get(), &clock_, daemon_.get()});
    if (!start) return Fail("--sandbox: no egress proxy to run the server behind");
    core::SessionEgressRequest request;
    request.socket_path = socket_dir_.path() + "/" + mcp::kSandboxSocketName;
    request.agent_id = agent_id_;
    request.run_id = run_id_;
    request.call_in_flight = std::move(in_flight);
    auto egress = start(std::move(request));
    if (!egress.ok()) return Fail("--sandbox: " + egress.error().message);
    egress_ = std::move(*egress);
    return kExitOk;
  }

  // A sandboxed start is checked on the real bwrap run (no separate probe): the server
  // is not used unless the bridge reports the sandbox set up (mcp/sandbox.h).
  int SpawnServer() {
    std::cerr << "interlock mcp: the server's environment: " << mcp::EnvNames(child_env_)
              << " (docs/mcp.md#the-servers-environment)\n";
    auto child = mcp::SpawnServer(opt_.server, child_env_, sandbox_ ? &*sandbox_ : nullptr);
    if (!child.ok()) {
      if (!sandbox_) return Fail(child.error());
      return Fail("--sandbox: " + child.error().message + "; the server is not started");
    }
    child_ = std::move(*child);
    return kExitOk;
  }

  // Staging servers for `rehearse: {upstream: NAME}`; started on their first rehearsal.
  int PrepareStaging() {
    for (const std::string& spec : opt_.rehearse_upstreams) {
      const size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
        return Fail("--rehearse-upstream wants NAME=COMMAND or NAME=URL: " + spec);
      }
      const std::string name = spec.substr(0, eq);
      const std::string what = spec.substr(eq + 1);
      mcp::ServerSpec server;
      if (what.rfind("http://", 0) == 0 || what.rfind("https://", 0) == 0) {
        server.url = what;
        server.connector = opt_.connector;
      } else {
        std::istringstream words(what);
        for (std::string w; words >> w;) server.command.push_back(w);
        server.env = child_env_;
        // A staging server is the same kind of code as the real one: contained the same
        // way, in the same sandbox, its egress decided by the same proxy (this agent, run).
        server.sandbox = sandbox_;
      }
      if (staging_.count(name) != 0) return Fail("--rehearse-upstream " + name + " given twice");
      staging_.emplace(name, mcp::MakeStagingUpstream(std::move(server)));
    }
    if (opt_.rehearsal_timeout_s < 1 || opt_.rehearsal_timeout_s > 3600) {
      return Fail("--rehearsal-timeout wants 1 to 3600 seconds");
    }
    if (opt_.approval_retry_wait_s < mcp::kMinRetryWaitSeconds ||
        opt_.approval_retry_wait_s > mcp::kMaxRetryWaitSeconds) {
      return Fail("--approval-retry-wait wants " + std::to_string(mcp::kMinRetryWaitSeconds) +
                  " to " + std::to_string(mcp::kMaxRetryWaitSeconds) +
                  " seconds (under the client's request timeout)");
    }
    return kExitOk;
  }

  mcp::GatewayOptions BuildGatewayOptions() {
    mcp::GatewayOptions gopt;
    gopt.agent_id = agent_id_;
    for (auto& [name, up] : staging_) gopt.rehearsal_upstreams.emplace(name, up.get());
    gopt.rehearsal_timeout = std::chrono::seconds(opt_.rehearsal_timeout_s);
    gopt.mrtr_wait = std::chrono::seconds(opt_.approval_retry_wait_s);
    gopt.tools = tool_view_;
    gopt.enforcer = enforcer_;
    gopt.pins = pins_.get();
    gopt.secrets = secrets_;
    gopt.forward_methods = opt_.forward_methods;
    if (otel_) gopt.telemetry = otel_.get();
    if (opt_.sandbox) {
      gopt.egress_receipts = [this](const std::string& call_id) {
        return egress_->TakeReceiptsJson(call_id);
      };
    }
    return gopt;
  }

  // Relays lines both ways until the client or the server ends: the exit code.
  int Relay() {
    const int to_server_fd = child_->stdin_fd();
    std::mutex out_mu, server_mu;
    auto to_client = [&out_mu](const json::value& v) {
      std::string line = ToJsonText(v);
      line.push_back('\n');
      std::lock_guard lock(out_mu);
      (void)mcp::WriteAll(1, line);
    };
    auto to_server = [&server_mu, to_server_fd](const json::value& v) {
      std::string line = ToJsonText(v);
      line.push_back('\n');
      std::lock_guard lock(server_mu);
      (void)mcp::WriteAll(to_server_fd, line);  // a dead server is seen by its reader
    };
    mcp::Gateway gateway(BuildGatewayOptions(), to_client, to_server);
    gateway_ptr_ = &gateway;
    WakePipe wake_client, stop_server;
    g_stop_wake_fd.store(wake_client.write_fd());
    if (g_stop_signal.load() != 0) wake_client.Wake();  // stopped while starting
    std::atomic<bool> upstream_gone{false};
    std::thread server_thread([&] {
      RelayServer(&gateway, stop_server.read_fd());
      upstream_gone = true;
      gateway.OnUpstreamClosed("its output closed");
      wake_client.Wake();
    });
    RelayClient(&gateway, wake_client.read_fd());
    g_stop_wake_fd.store(-1);
    int exit_code = kExitOk;
    const int stop_signal = g_stop_signal.load();
    if (!upstream_gone) {
      gateway.OnClientClosed(
          stop_signal != 0 ? "interlock mcp was stopped (" +
                                 std::string(stop_signal == SIGINT ? "SIGINT" : "SIGTERM") + ")"
                           : std::string("the MCP client closed its input (stdin EOF)"));
    }
    if (stop_signal != 0 && !upstream_gone) {
      // Whoever signals may escalate to SIGKILL soon (the 2.x SDK after 1 s): the server
      // gets a short grace, then is stopped, so the run is ended in time.
      std::cerr << "interlock mcp: stopped by signal " << stop_signal << "; ending the session\n";
      child_->CloseStdin();
      if (!child_->Wait(std::chrono::milliseconds(300))) stop_server.Wake();
      exit_code = 128 + stop_signal;
    } else if (upstream_gone) {
      auto code = child_->Wait(std::chrono::seconds(2));
      std::cerr << "interlock mcp: the MCP server exited"
                << (code ? " with status " + std::to_string(*code) : std::string()) << '\n';
      exit_code = kExitFailure;
    } else {
      child_->CloseStdin();  // client is done: let the server finish on its own
      if (!child_->Wait(std::chrono::seconds(3))) stop_server.Wake();
    }
    server_thread.join();
    gateway_ptr_ = nullptr;
    return exit_code;
  }

  // The server thread: the child's stdout to the gateway, until it closes or `stop_fd`.
  void RelayServer(mcp::Gateway* gateway, int stop_fd) {
    RelayLines(
        child_->stdout_fd(), mcp::kMaxServerMessageBytes, stop_fd,
        [gateway](const std::string& line) { gateway->OnServerLine(line); },
        [gateway] { gateway->OnServerOversized(); });
  }

  // The main thread: stdin to the gateway, until EOF or `wake_fd` (the server is gone).
  static void RelayClient(mcp::Gateway* gateway, int wake_fd) {
    RelayLines(
        0, mcp::kMaxClientMessageBytes, wake_fd,
        [gateway](const std::string& line) { gateway->OnClientLine(line); },
        [gateway] { gateway->OnClientOversized(); });
  }

  // `fd`'s lines, each to `on_line` (one longer than `max_bytes` to `on_oversized`), until
  // EOF, an error or `stop_fd`.
  static void RelayLines(int fd, size_t max_bytes, int stop_fd,
                         const std::function<void(const std::string&)>& on_line,
                         const std::function<void()>& on_oversized) {
    mcp::LineReader reader(fd, max_bytes, stop_fd);
    std::string line;
    for (;;) {
      auto s = reader.Next(&line);
      if (s == mcp::LineReader::Status::kLine) {
        on_line(line);
      } else if (s == mcp::LineReader::Status::kOversized) {
        on_oversized();
      } else {
        break;
      }
    }
  }

  // The session's end: the server stopped, the proxy stopped, the run ended.
  void End() {
    // Stopped by a signal: the run is ended first, before the server's grace (a SIGKILL
    // may follow the signal soon); no call can start any more (the relay is over).
    const bool run_first = g_stop_signal.load() != 0;
    if (run_first) EndRun();
    child_.reset();
    egress_.reset();  // the proxy stopped (its thread joined, its connections closed)
    if (!run_first) EndRun();
  }

  void EndRun() {
    if (daemon_ != nullptr) {
      (void)daemon_->EndRun();
    } else {
      (void)calls_->EndRun(run_id_, agent_id_);
    }
  }

  const McpOptions& opt_;
  // Built in this order by the phases above, destroyed in the reverse order.
  std::shared_ptr<const policy::PolicySet> set_;     // Prepare
  std::string agent_id_;                             //
  std::map<std::string, std::string> child_env_;     //
  std::vector<std::string> secrets_;                 //
  std::string store_path_;                           // OpenStore
  std::unique_ptr<core::Store> store_;               //
  std::unique_ptr<mcp::PinStore> pins_;              //
  SystemClock clock_;                                // StartRun
  std::unique_ptr<telemetry::Sink> otel_;            //
  std::unique_ptr<core::PolicySource> source_;       //
  std::unique_ptr<core::Guard> guard_;               //
  std::unique_ptr<core::Calls> calls_;               //
  std::unique_ptr<mcp::GuardEnforcer> local_;        //
  std::unique_ptr<mcp::DaemonEnforcer> daemon_;      //
  std::unique_ptr<mcp::PolicyToolView> local_view_;  //
  mcp::Enforcer* enforcer_ = nullptr;                //
  mcp::ToolViewSource* tool_view_ = nullptr;         //
  std::string run_id_;                               //
  std::optional<mcp::SandboxSpec> sandbox_;          // StartSandbox
  std::atomic<mcp::Gateway*> gateway_ptr_{nullptr};  // set while Relay() runs
  std::unique_ptr<core::SessionEgress> egress_;      // outlives the gateway
  mcp::SandboxSocketDir socket_dir_;                 //
  std::unique_ptr<mcp::ChildProcess> child_;         // SpawnServer
  std::map<std::string, std::unique_ptr<mcp::RehearsalUpstream>> staging_;  // PrepareStaging
};

}  // namespace

int RunStdioGateway(const StdioGatewayOptions& opt) { return McpSession(opt).Run(); }

}  // namespace interlock::mcp_stdio
