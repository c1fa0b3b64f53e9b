// `interlock egress`: the egress proxy on its own, for agents that run their tools in
// their own processes (they set HTTPS_PROXY / HTTP_PROXY to it).
//
//   interlock egress --policy P [--agent ID] [--store PATH] --listen 127.0.0.1:PORT
//                    [--listen-unix PATH]
//   interlock egress --daemon URL --token-env VAR [--daemon-ca F] [--run ID]
//                    --listen 127.0.0.1:PORT [--listen-unix PATH]
//
// Every connection is decided by the core (the agent's egress.allow; kill switch; run)
// and audited with host, port, address and the bytes each way: locally, in one run
// created at start in the store; with --daemon, by the daemon (POST /v1/runs/{run}/egress,
// egress/daemon_decider.h) in a run it starts for the token's agent, or the run --run
// names (the agent's own, e.g. the run its tool calls go to). Fail closed: when the
// daemon cannot decide, every connection is refused with 403.
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/local_store.h"
#include "common/store_path.h"
#include "common/time.h"
#include "core/app/calls.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "doors/egress/daemon_decider.h"
#include "doors/egress/decider.h"
#include "doors/egress/proxy.h"
#include "mcp/daemon_enforcer.h"
#include "policy/loader.h"
#include "telemetry/setup.h"

namespace interlock::cli {
namespace {

struct EgressOptions : EnforcementFlags {
  std::string listen = "127.0.0.1:0";
  std::string listen_unix;
  std::string workspace;
  std::string run;  // --daemon: join this run instead of starting one
};

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

// --listen ADDRESS:PORT; false (and *why) when malformed.
bool ParseListen(const std::string& listen, std::string* address, int* port, std::string* why) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    *why = "--listen wants ADDRESS:PORT";
    return false;
  }
  *address = listen.substr(0, colon);
  if (address->size() > 2 && address->front() == '[') {
    *address = address->substr(1, address->size() - 2);
  }
  *port = -1;
  try {
    *port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
  }
  if (*port < 0 || *port > 65535) {
    *why = "--listen: bad port in " + listen;
    return false;
  }
  return true;
}

// Runs the proxy over `decider` until SIGINT or SIGTERM.
int Serve(egress::EgressDecider* decider, const EgressOptions& opt, const std::string& address,
          int port, const sigset_t& set_mask, const std::string& banner) {
  egress::EgressProxy proxy(decider, egress::ProxyOptions{});
  auto bound = proxy.ListenTcp(address, static_cast<uint16_t>(port));
  if (!bound.ok()) return Fail("egress", bound.error());
  if (!opt.listen_unix.empty()) {
    if (Status s = proxy.ListenUnix(opt.listen_unix); !s.ok()) return Fail("egress", s.error());
  }
  proxy.Start();
  const bool v6 = address.find(':') != std::string::npos;
  std::cerr << "interlock egress: " << banner << '\n';
  std::cout << "listening on " << (v6 ? "[" + address + "]" : address) << ":" << *bound
            << std::endl;
  int sig = 0;
  sigwait(&set_mask, &sig);
  proxy.Stop();
  return kExitOk;
}

int RunEgressDaemon(const EgressOptions& opt) {
  if (!opt.policy.empty()) {
    std::cerr << "interlock egress: --policy " << opt.policy
              << " is ignored with --daemon: the daemon's policies decide every connection\n";
  }
  if (!opt.store.empty()) return Fail("egress", "--store and --daemon exclude each other");
  std::string address, why;
  int port = -1;
  if (!ParseListen(opt.listen, &address, &port, &why)) return Fail("egress", why);
  const sigset_t set_mask = BlockStopSignals();
  auto d = mcp::DaemonEnforcerFromEnv(opt.daemon, opt.token_env, opt.daemon_ca);
  if (!d.ok()) return Fail("egress", d.error());
  std::unique_ptr<mcp::DaemonEnforcer> daemon = std::move(*d);
  std::string agent_id = "(unknown)";
  bool started = false;
  if (!opt.run.empty()) {
    daemon->UseRun(opt.run);  // the daemon checks on every decision that it is the agent's
  } else if (auto run = daemon->StartRun(); run.ok()) {
    if (!opt.agent.empty() && run->agent_id != opt.agent) {
      (void)daemon->EndRun();
      return Fail("egress", "the token of --token-env " + opt.token_env + " is for agent " +
                                run->agent_id + ", not " + opt.agent);
    }
    agent_id = run->agent_id;
    started = true;
  } else {
    // Not fatal: every connection is refused (403, fail closed) until the daemon answers.
    std::cerr << "interlock egress: " << run.error().message
              << "; connections are refused until the daemon answers\n";
  }
  int exit_code = kExitOk;
  {
    auto decider = MakeDaemonEgressDecider(daemon.get());
    exit_code = Serve(decider.get(), opt, address, port, set_mask,
                      "agent " + agent_id + ", daemon " + opt.daemon + ", run " +
                          (daemon->run_id().empty() ? "(not started)" : daemon->run_id()));
  }
  if (started || (opt.run.empty() && !daemon->run_id().empty())) (void)daemon->EndRun();
  return exit_code;
}

int RunEgress(const EgressOptions& opt) {
  if (!opt.daemon.empty()) return RunEgressDaemon(opt);
  if (!opt.run.empty()) return Fail("egress", "--run needs --daemon");
  if (opt.policy.empty()) return Fail("egress", "--policy is required (or --daemon URL)");
  std::string address, why;
  int port = -1;
  if (!ParseListen(opt.listen, &address, &port, &why)) return Fail("egress", why);
  // Block the signals that end us before any thread starts; this thread waits for one.
  const sigset_t set_mask = BlockStopSignals();

  auto workspace = WorkspaceDir(opt.workspace);
  if (!workspace.ok()) return Fail("egress", "--workspace: " + workspace.error().message);
  policy::LoadOptions load;
  load.workspace = std::move(*workspace);
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet({opt.policy}, &diags, load);
  if (!set.ok())
    return Fail("egress", "policy " + opt.policy + " is invalid:\n" + set.error().message);
  std::string agent_id = opt.agent;
  if (agent_id.empty()) {
    if ((*set)->agents.size() != 1)
      return Fail("egress", "the policy holds several agents; pass --agent ID");
    agent_id = (*set)->agents.begin()->first;
  } else if ((*set)->Find(agent_id) == nullptr) {
    return Fail("egress", "no agent " + agent_id + " in " + opt.policy);
  }
  WarnShadowMode(**set, agent_id, std::cerr);

  std::string store_path = opt.store;
  if (store_path.empty()) {
    auto p = DefaultStorePath();
    if (!p.ok()) return Fail("egress", p.error());
    store_path = *p;
  }
  if (Status st = PrepareStorePlace(store_path, opt.create, "egress"); !st.ok()) {
    return Fail("egress", st.error());
  }
  auto store = OpenLocalStore(store_path, true);
  if (!store.ok()) return Fail("egress", "store " + store_path + ": " + store.error().message);
  SystemClock clock;
  core::PolicySource source(*set);
  core::Guard guard(&source, store->get(), &clock, nullptr);
  // OpenTelemetry (docs/telemetry.md): the OTEL_* variables only; a span per connection
  // decided, as `interlock mcp` and `interlock serve` export theirs.
  auto otel = telemetry::StartExporter({}, {}, "interlock egress");
  if (!otel.ok()) return Fail("egress", otel.error());
  const std::unique_ptr<telemetry::OtlpExporter> exporter = std::move(*otel);
  if (exporter) guard.SetTelemetry(exporter.get());
  core::Calls calls(store->get(), &source, &clock);
  auto run = calls.StartRun(agent_id);
  if (!run.ok()) return Fail("egress", "cannot create a run: " + run.error().message);

  egress::GuardEgressDecider decider(&guard, store->get(), &clock, agent_id, run->run_id);
  const int exit_code =
      Serve(&decider, opt, address, port, set_mask,
            "agent " + agent_id + ", run " + run->run_id + ", store " + store_path);
  (void)calls.EndRun(run->run_id, agent_id);
  return exit_code;
}

void AddEgress(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<EgressOptions>();
  CLI::App* cmd = app.add_subcommand(
      "egress",
      "Egress proxy: interlock egress (--policy P [--agent ID] [--store PATH] | --daemon URL "
      "--token-env VAR [--run ID]) --listen 127.0.0.1:PORT. A forward proxy (HTTP absolute-form "
      "and CONNECT) whose every connection is decided by the agent's egress.allow and "
      "audited.");
  AddEnforcementFlags(cmd, opt.get());
  cmd->add_option("--listen", opt->listen, "ADDRESS:PORT to listen on (default 127.0.0.1:0)");
  cmd->add_option("--listen-unix", opt->listen_unix, "Also listen on this Unix socket (0600)");
  cmd->add_option("--workspace", opt->workspace, "The directory ${workspace} stands for");
  cmd->add_option("--run", opt->run,
                  "With --daemon: decide in this run of the token's agent (e.g. the run its "
                  "tool calls go to) instead of starting one");
  cmd->callback([opt, exit_code] { *exit_code = RunEgress(*opt); });
}

const CommandRegistration kRegisterEgress("egress", &AddEgress);

}  // namespace
}  // namespace interlock::cli
