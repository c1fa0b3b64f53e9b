// `interlock egress`: the egress proxy on its own, for agents that run their tools in
// their own processes (they set HTTPS_PROXY / HTTP_PROXY to it).
//
//   interlock egress --policy P [--agent ID] [--store PATH] --listen 127.0.0.1:PORT
//                    [--listen-unix PATH]
//
// Every connection is decided by the core (the agent's egress.allow; kill switch; run)
// in one run created at start, and audited in the store with host, port, address and the
// bytes each way. --daemon is refused for now: the daemon has no egress decision endpoint
// yet (docs/mcp.md, "Egress").
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/time.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "egress/decider.h"
#include "egress/proxy.h"
#include "mcp/local_store.h"
#include "policy/loader.h"

namespace interlock::cli {
namespace {

struct EgressOptions : EnforcementFlags {
  std::string listen = "127.0.0.1:0";
  std::string listen_unix;
  std::string workspace;
};

int Fail(const std::string& what) {
  std::cerr << "interlock egress: " << what << '\n';
  return kExitUsage;
}

int RunEgress(const EgressOptions& opt) {
  if (!opt.daemon.empty()) {
    return Fail(
        "--daemon is not supported yet (the daemon has no egress decision endpoint); "
        "use --policy with a local --store");
  }
  if (opt.policy.empty()) return Fail("--policy is required");
  // Block the signals that end us before any thread starts (threads inherit the mask);
  // this thread waits for one below.
  sigset_t set_mask;
  sigemptyset(&set_mask);
  sigaddset(&set_mask, SIGINT);
  sigaddset(&set_mask, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const size_t colon = opt.listen.rfind(':');
  if (colon == std::string::npos) return Fail("--listen wants ADDRESS:PORT");
  std::string address = opt.listen.substr(0, colon);
  if (address.size() > 2 && address.front() == '[') address = address.substr(1, address.size() - 2);
  int port = -1;
  try {
    port = std::stoi(opt.listen.substr(colon + 1));
  } catch (...) {
  }
  if (port < 0 || port > 65535) return Fail("--listen: bad port in " + opt.listen);

  auto workspace = WorkspaceDir(opt.workspace);
  if (!workspace.ok()) return Fail("--workspace: " + workspace.error().message);
  policy::LoadOptions load;
  load.workspace = std::move(*workspace);
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet({opt.policy}, &diags, load);
  if (!set.ok()) return Fail("policy " + opt.policy + " is invalid:\n" + set.error().message);
  std::string agent_id = opt.agent;
  if (agent_id.empty()) {
    if ((*set)->agents.size() != 1) return Fail("the policy holds several agents; pass --agent ID");
    agent_id = (*set)->agents.begin()->first;
  } else if ((*set)->Find(agent_id) == nullptr) {
    return Fail("no agent " + agent_id + " in " + opt.policy);
  }
  WarnShadowMode(**set, agent_id, std::cerr);

  std::string store_path = opt.store;
  if (store_path.empty()) {
    auto p = mcp::DefaultStorePath();
    if (!p.ok()) return Fail(p.error().message);
    store_path = *p;
  }
  auto store = mcp::OpenLocalStore(store_path, true);
  if (!store.ok()) return Fail("store " + store_path + ": " + store.error().message);
  SystemClock clock;
  core::PolicySource source(*set);
  core::Guard guard(&source, store->get(), &clock, nullptr);
  auto run = (*store)->CreateRun(agent_id, "", clock.Now());
  if (!run.ok()) return Fail("cannot create a run: " + run.error().message);

  egress::GuardEgressDecider decider(&guard, store->get(), &clock, agent_id, run->run_id);
  int exit_code = kExitOk;
  {
    egress::EgressProxy proxy(&decider, egress::ProxyOptions{});
    auto bound = proxy.ListenTcp(address, static_cast<uint16_t>(port));
    if (!bound.ok()) return Fail(bound.error().message);
    if (!opt.listen_unix.empty()) {
      if (Status s = proxy.ListenUnix(opt.listen_unix); !s.ok()) return Fail(s.error().message);
    }
    proxy.Start();
    const bool v6 = address.find(':') != std::string::npos;
    std::cerr << "interlock egress: agent " << agent_id << ", run " << run->run_id << ", store "
              << store_path << '\n';
    std::cout << "listening on " << (v6 ? "[" + address + "]" : address) << ":" << *bound
              << std::endl;
    int sig = 0;
    sigwait(&set_mask, &sig);
    proxy.Stop();
  }
  (void)(*store)->EndRun(run->run_id, agent_id, clock.Now());
  return exit_code;
}

void AddEgress(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<EgressOptions>();
  CLI::App* cmd = app.add_subcommand(
      "egress",
      "Egress proxy: interlock egress --policy P [--agent ID] [--store PATH] --listen "
      "127.0.0.1:PORT. A forward proxy (HTTP absolute-form and CONNECT) whose every connection "
      "is decided by the agent's egress.allow and audited.");
  AddEnforcementFlags(cmd, opt.get());
  cmd->add_option("--listen", opt->listen, "ADDRESS:PORT to listen on (default 127.0.0.1:0)");
  cmd->add_option("--listen-unix", opt->listen_unix, "Also listen on this Unix socket (0600)");
  cmd->add_option("--workspace", opt->workspace, "The directory ${workspace} stands for");
  cmd->callback([opt, exit_code] { *exit_code = RunEgress(*opt); });
}

const CommandRegistration kRegistration("egress", &AddEgress);

}  // namespace
}  // namespace interlock::cli
