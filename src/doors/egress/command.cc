#include "doors/egress/command.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/host_name.h"
#include "common/store_path.h"
#include "common/time.h"
#include "core/app/calls.h"
#include "core/guard.h"
#include "doors/egress/proxy.h"

namespace interlock::egress {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

// "interlock egress: MESSAGE" on stderr; the usage exit code (as the CLI's Fail).
int Fail(std::string_view message) {
  std::cerr << "interlock egress: " << message << '\n';
  return kExitUsage;
}
int Fail(const Error& e) { return Fail(e.message); }

// Blocks SIGINT and SIGTERM (threads inherit the mask); returns the set to sigwait on.
sigset_t BlockStopSignals() {
  sigset_t set_mask;
  sigemptyset(&set_mask);
  sigaddset(&set_mask, SIGINT);
  sigaddset(&set_mask, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return set_mask;
}

// Where the proxy listens (--listen ADDRESS:PORT, --listen-unix PATH).
struct Listen {
  std::string address;
  int port = -1;
  std::string unix_path;
};

// --listen ADDRESS:PORT (common/host_name.h, ParseListenAddress); an error when malformed.
Result<Listen> ParseListen(const std::string& listen, const std::string& unix_path) {
  Result<ListenAddress> at = ParseListenAddress(listen);
  if (!at.ok()) return Error::Invalid("--listen: " + at.error().message);
  return Listen{std::move(at->host), at->port, unix_path};
}

// Runs the proxy over `decider` until SIGINT or SIGTERM.
int Serve(EgressDecider* decider, const Listen& at, const sigset_t& set_mask,
          const std::string& banner) {
  EgressProxy proxy(decider, ProxyOptions{});
  auto bound = proxy.ListenTcp(at.address, static_cast<uint16_t>(at.port));
  if (!bound.ok()) return Fail(bound.error());
  if (!at.unix_path.empty()) {
    if (Status s = proxy.ListenUnix(at.unix_path); !s.ok()) return Fail(s.error());
  }
  proxy.Start();
  const bool v6 = at.address.find(':') != std::string::npos;
  std::cerr << "interlock egress: " << banner << '\n';
  std::cout << "listening on " << (v6 ? "[" + at.address + "]" : at.address) << ":" << *bound
            << std::endl;
  int sig = 0;
  sigwait(&set_mask, &sig);
  proxy.Stop();
  return kExitOk;
}

int RunThroughDaemon(const EgressCommandOptions& opt) {
  if (!opt.policy.empty()) {
    std::cerr << "interlock egress: --policy " << opt.policy
              << " is ignored with --daemon: the daemon's policies decide every connection\n";
  }
  if (!opt.store.empty()) return Fail("--store and --daemon exclude each other");
  auto at = ParseListen(opt.listen, opt.listen_unix);
  if (!at.ok()) return Fail(at.error());
  const sigset_t set_mask = BlockStopSignals();
  if (!opt.connect_daemon) return Fail("no daemon client to decide with");
  auto d = opt.connect_daemon(opt.daemon, opt.token_env, opt.daemon_ca);
  if (!d.ok()) return Fail(d.error());
  std::unique_ptr<EgressDaemon> daemon = std::move(*d);
  std::string agent_id = "(unknown)";
  bool started = false;
  if (!opt.run.empty()) {
    daemon->UseRun(opt.run);  // the daemon checks on every decision that it is the agent's
  } else if (Result<std::string> run_agent = daemon->StartRun(); run_agent.ok()) {
    if (!opt.agent.empty() && *run_agent != opt.agent) {
      (void)daemon->EndRun();
      return Fail("the token of --token-env " + opt.token_env + " is for agent " + *run_agent +
                  ", not " + opt.agent);
    }
    agent_id = *run_agent;
    started = true;
  } else {
    // Not fatal: every connection is refused (403, fail closed) until the daemon answers.
    std::cerr << "interlock egress: " << run_agent.error().message
              << "; connections are refused until the daemon answers\n";
  }
  int exit_code = kExitOk;
  {
    std::unique_ptr<EgressDecider> decider = daemon->MakeDecider();
    exit_code = Serve(decider.get(), *at, set_mask,
                      "agent " + agent_id + ", daemon " + opt.daemon + ", run " +
                          (daemon->run_id().empty() ? "(not started)" : daemon->run_id()));
  }
  if (started || (opt.run.empty() && !daemon->run_id().empty())) (void)daemon->EndRun();
  return exit_code;
}

// The policy's agent the proxy decides for: --agent, or the policy's only one.
Result<std::string> AgentOf(const policy::PolicySet& set, const EgressCommandOptions& opt) {
  if (opt.agent.empty()) {
    if (set.agents.size() != 1) {
      return Error::Invalid("the policy holds several agents; pass --agent ID");
    }
    return set.agents.begin()->first;
  }
  if (set.Find(opt.agent) == nullptr) {
    return Error::Invalid("no agent " + opt.agent + " in " + opt.policy);
  }
  return opt.agent;
}

int RunStandalone(const EgressCommandOptions& opt) {
  if (!opt.run.empty()) return Fail("--run needs --daemon");
  if (opt.policy.empty()) return Fail("--policy is required (or --daemon URL)");
  auto at = ParseListen(opt.listen, opt.listen_unix);
  if (!at.ok()) return Fail(at.error());
  // Block the signals that end us before any thread starts; this thread waits for one.
  const sigset_t set_mask = BlockStopSignals();

  auto workspace = core::WorkspaceDir(opt.workspace);
  if (!workspace.ok()) return Fail("--workspace: " + workspace.error().message);
  auto set = core::LoadPolicyFile(opt.policy, std::move(*workspace), nullptr);
  if (!set.ok()) return Fail("policy " + opt.policy + " is invalid:\n" + set.error().message);
  Result<std::string> agent = AgentOf(**set, opt);
  if (!agent.ok()) return Fail(agent.error());
  const std::string& agent_id = *agent;
  core::WarnShadowMode(**set, agent_id, std::cerr);

  if (opt.stores == nullptr) return Fail("no local store to decide with");
  std::string store_path = opt.store;
  if (store_path.empty()) {
    auto p = DefaultStorePath();
    if (!p.ok()) return Fail(p.error());
    store_path = *p;
  }
  if (Status st = opt.stores->PreparePlace(store_path, opt.create, "egress"); !st.ok()) {
    return Fail(st.error());
  }
  auto store = opt.stores->Open(store_path, true, core::LocalStoreUse::kConcurrent);
  if (!store.ok()) return Fail("store " + store_path + ": " + store.error().message);
  SystemClock clock;
  core::PolicySource source(*set);
  core::Guard guard(&source, store->get(), &clock, nullptr);
  // OpenTelemetry (docs/telemetry.md): the OTEL_* variables only; a span per connection
  // decided, as `interlock mcp` and `interlock serve` export theirs.
  std::unique_ptr<telemetry::Sink> exporter;
  if (opt.start_telemetry) {
    auto otel = opt.start_telemetry();
    if (!otel.ok()) return Fail(otel.error());
    exporter = std::move(*otel);
  }
  if (exporter) guard.SetTelemetry(exporter.get());
  core::Calls calls(store->get(), &source, &clock);
  auto run = calls.StartRun(agent_id);
  if (!run.ok()) return Fail("cannot create a run: " + run.error().message);

  GuardEgressDecider decider(&guard, store->get(), &clock, agent_id, run->run_id);
  const int exit_code =
      Serve(&decider, *at, set_mask,
            "agent " + agent_id + ", run " + run->run_id + ", store " + store_path);
  (void)calls.EndRun(run->run_id, agent_id);
  return exit_code;
}

}  // namespace

int RunEgressCommand(const EgressCommandOptions& opt) {
  return opt.daemon.empty() ? RunStandalone(opt) : RunThroughDaemon(opt);
}

}  // namespace interlock::egress
