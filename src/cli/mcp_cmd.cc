// `interlock mcp`: the MCP gateway over stdio, and `interlock mcp pins list|accept`.
//
// The MCP client launches `interlock mcp --policy P -- SERVER [ARGS...]` instead of the
// server. Interlock spawns the server as a child (ChildProcess: RAII, process group,
// always reaped), relays newline-delimited JSON-RPC both ways through mcp::Gateway, and
// passes the server's stderr through. Secrets named with --secret-env / --secret-file
// are put into the child's environment by Interlock (the agent's configuration never
// holds them) and masked in tool results.
//
// Threads: the main thread reads the client (stdin) and runs Gateway::OnClientLine; one
// thread reads the server (the child's stdout) and runs Gateway::OnServerLine. Writes to
// stdout and to the child's stdin each go through a mutex, one whole line at a time.
// Session end: client EOF closes the child's stdin and waits (bounded) for it to exit;
// upstream exit answers every pending request with an error and ends the session with
// exit code 1.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "common/json.h"
#include "common/time.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "mcp/child_process.h"
#include "mcp/daemon_enforcer.h"
#include "mcp/framing.h"
#include "mcp/gateway.h"
#include "mcp/guard_enforcer.h"
#include "mcp/local_store.h"
#include "mcp/pins.h"
#include "policy/loader.h"

namespace interlock::cli {
namespace {

namespace json = boost::json;

struct McpOptions : EnforcementFlags {
  std::string durability = "full";
  std::vector<std::string> secret_env;
  std::vector<std::string> secret_file;
  std::vector<std::string> forward_methods;
  std::vector<std::string> server;
};

struct PinsOptions {
  std::string store;
  std::string tool;
};

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
  void Wake() {
    if (fds_[1] >= 0) (void)!write(fds_[1], "x", 1);
  }

 private:
  int fds_[2];
};

std::string StorePathOrDefault(const std::string& given, std::string* error) {
  if (!given.empty()) return given;
  auto p = mcp::DefaultStorePath();
  if (!p.ok()) {
    *error = p.error().message;
    return {};
  }
  return *p;
}

int Fail(const std::string& what) {
  std::cerr << "interlock mcp: " << what << '\n';
  return kExitUsage;
}

int RunMcp(const McpOptions& opt) {
  if (opt.server.empty()) return Fail("no server command; usage: interlock mcp --policy P -- CMD");
  ::signal(SIGPIPE, SIG_IGN);  // a dead child or client is seen as a write error

  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet({opt.policy}, &diags);
  if (!set.ok()) return Fail("policy " + opt.policy + " is invalid:\n" + set.error().message);
  std::string agent_id = opt.agent;
  if (agent_id.empty()) {
    if ((*set)->agents.size() != 1) return Fail("the policy holds several agents; pass --agent ID");
    agent_id = (*set)->agents.begin()->first;
  } else if ((*set)->Find(agent_id) == nullptr) {
    return Fail("no agent " + agent_id + " in " + opt.policy);
  }

  // Secrets: values come from Interlock's own environment or files, go to the child only.
  std::map<std::string, std::string> child_env;
  std::vector<std::string> secrets;
  for (const std::string& name : opt.secret_env) {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return Fail("--secret-env " + name + ": variable is not set");
    child_env[name] = v;
    secrets.emplace_back(v);
  }
  for (const std::string& spec : opt.secret_file) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) return Fail("--secret-file wants NAME=PATH: " + spec);
    std::ifstream in(spec.substr(eq + 1), std::ios::binary);
    if (!in) return Fail("--secret-file " + spec + ": cannot read the file");
    std::string v((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    if (v.empty()) return Fail("--secret-file " + spec + ": the file is empty");
    child_env[spec.substr(0, eq)] = v;
    secrets.push_back(v);
  }
  for (const std::string& m : opt.forward_methods) {
    if (Status s = mcp::ValidForwardMethod(m); !s.ok()) {
      return Fail("--forward-method: " + s.error().message);
    }
  }

  std::string err;
  const std::string store_path = StorePathOrDefault(opt.store, &err);
  if (store_path.empty()) return Fail(err);
  if (opt.durability != "full" && opt.durability != "normal") {
    return Fail("--durability wants full or normal, not " + opt.durability);
  }
  auto store = mcp::OpenLocalStore(store_path, opt.durability == "full");
  if (!store.ok()) return Fail("store " + store_path + ": " + store.error().message);
  auto pins = mcp::PinStore::Open(store_path);
  if (!pins.ok()) return Fail(pins.error().message);

  SystemClock clock;
  core::PolicySource source(*set);
  core::Guard guard(&source, store->get(), &clock, nullptr);
  std::unique_ptr<mcp::GuardEnforcer> local;
  std::unique_ptr<mcp::DaemonEnforcer> daemon;
  mcp::Enforcer* enforcer = nullptr;
  std::string run_id;
  if (!opt.daemon.empty()) {
    // Daemon mode: decisions, approvals, budgets and audit live in `interlock serve`; the
    // local store keeps only the tool pins. The policy still filters tools/list.
    auto d = mcp::DaemonEnforcerFromEnv(opt.daemon, opt.token_env, opt.daemon_ca);
    if (!d.ok()) return Fail(d.error().message);
    daemon = std::move(*d);
    if (auto run = daemon->StartRun(); run.ok()) {
      if (run->agent_id != agent_id) {
        return Fail("the token of --token-env " + opt.token_env + " is for agent " + run->agent_id +
                    ", not " + agent_id);
      }
      run_id = run->run_id;
    } else {
      // Not fatal: every call is denied (STORE_UNAVAILABLE) until the daemon answers.
      std::cerr << "interlock mcp: " << run.error().message
                << "; calls are denied until the daemon answers\n";
    }
    enforcer = daemon.get();
    std::cerr << "interlock mcp: agent " << agent_id << ", daemon " << opt.daemon << ", run "
              << (run_id.empty() ? "(not started)" : run_id) << '\n';
  } else {
    auto run = (*store)->CreateRun(agent_id, "", clock.Now());
    if (!run.ok()) return Fail("cannot create a run: " + run.error().message);
    run_id = run->run_id;
    local = std::make_unique<mcp::GuardEnforcer>(&guard, store->get(), &clock, agent_id, run_id);
    enforcer = local.get();
    std::cerr << "interlock mcp: agent " << agent_id << ", run " << run_id << ", store "
              << store_path << ", durability " << opt.durability << '\n';
  }

  auto child = mcp::ChildProcess::Spawn(opt.server, child_env);
  if (!child.ok()) return Fail(child.error().message);
  const int to_server_fd = (*child)->stdin_fd();

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

  mcp::GatewayOptions gopt;
  gopt.agent_id = agent_id;
  gopt.policies = &source;
  gopt.enforcer = enforcer;
  gopt.pins = pins->get();
  gopt.secrets = secrets;
  gopt.forward_methods = opt.forward_methods;
  int exit_code = kExitOk;
  {
    mcp::Gateway gateway(std::move(gopt), to_client, to_server);
    WakePipe wake_client, stop_server;
    std::atomic<bool> upstream_gone{false};
    std::thread server_thread([&] {
      mcp::LineReader reader((*child)->stdout_fd(), mcp::kMaxServerMessageBytes,
                             stop_server.read_fd());
      std::string line;
      for (;;) {
        auto s = reader.Next(&line);
        if (s == mcp::LineReader::Status::kLine) {
          gateway.OnServerLine(line);
        } else if (s == mcp::LineReader::Status::kOversized) {
          gateway.OnServerOversized();
        } else {
          break;
        }
      }
      upstream_gone = true;
      gateway.OnUpstreamClosed("its output closed");
      wake_client.Wake();
    });

    mcp::LineReader client(0, mcp::kMaxClientMessageBytes, wake_client.read_fd());
    std::string line;
    for (;;) {
      auto s = client.Next(&line);
      if (s == mcp::LineReader::Status::kLine) {
        gateway.OnClientLine(line);
      } else if (s == mcp::LineReader::Status::kOversized) {
        gateway.OnClientOversized();
      } else {
        break;
      }
    }
    if (upstream_gone) {
      auto code = (*child)->Wait(std::chrono::seconds(2));
      std::cerr << "interlock mcp: the MCP server exited"
                << (code ? " with status " + std::to_string(*code) : std::string()) << '\n';
      exit_code = kExitFailure;
    } else {
      (*child)->CloseStdin();  // client is done: let the server finish on its own
      if (!(*child)->Wait(std::chrono::seconds(3))) stop_server.Wake();
    }
    server_thread.join();
  }
  child->reset();  // terminates and reaps the process group if still running
  if (daemon != nullptr) {
    (void)daemon->EndRun();
  } else {
    (void)(*store)->EndRun(run_id, agent_id, clock.Now());
  }
  return exit_code;
}

int RunPinsList(const PinsOptions& opt) {
  std::string err;
  const std::string path = StorePathOrDefault(opt.store, &err);
  if (path.empty()) return Fail(err);
  auto pins = mcp::PinStore::Open(path);
  if (!pins.ok()) return Fail(pins.error().message);
  auto rows = (*pins)->List();
  if (!rows.ok()) return Fail(rows.error().message);
  for (const mcp::PinRow& r : *rows) {
    if (!opt.tool.empty() && r.tool != opt.tool) continue;
    json::object o{{"agent_id", r.agent_id},
                   {"tool", r.tool},
                   {"state", r.changed_sha256.empty() ? "pinned" : "changed"},
                   {"sha256", r.sha256},
                   {"first_seen", r.first_seen}};
    if (!r.changed_sha256.empty()) {
      o["changed_sha256"] = r.changed_sha256;
      o["changed_at"] = r.changed_at;
    }
    std::cout << ToJsonText(o) << '\n';
  }
  return kExitOk;
}

int RunPinsAccept(const PinsOptions& opt) {
  std::string err;
  const std::string path = StorePathOrDefault(opt.store, &err);
  if (path.empty()) return Fail(err);
  auto pins = mcp::PinStore::Open(path);
  if (!pins.ok()) return Fail(pins.error().message);
  auto n = (*pins)->Accept(opt.tool);
  if (!n.ok()) return Fail(n.error().message);
  std::cout << "accepted " << *n << " changed tool definition(s)\n";
  return kExitOk;
}

void AddMcp(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<McpOptions>();
  CLI::App* cmd = app.add_subcommand(
      "mcp",
      "MCP gateway: interlock mcp --policy P [--agent ID] [--store PATH | --daemon URL "
      "--token-env NAME] -- SERVER [ARGS...]. "
      "Every tools/call is decided by Interlock before the server sees it.");
  AddEnforcementFlags(cmd, opt.get());
  cmd->add_option("--durability", opt->durability,
                  "Standalone store: full (default; fsync before each decision is returned) or "
                  "normal (WAL, no fsync: a decision's record survives a crash of this process, "
                  "not of the machine)");
  cmd->add_option("--secret-env", opt->secret_env,
                  "Pass this environment variable to the server and mask its value in results")
      ->allow_extra_args(false);
  cmd->add_option("--secret-file", opt->secret_file,
                  "NAME=PATH: put the file's content into the server's environment as NAME "
                  "and mask it in results")
      ->allow_extra_args(false);
  cmd->add_option("--forward-method", opt->forward_methods,
                  "Also forward this JSON-RPC method (either direction); by default only the "
                  "MCP specification's methods pass and others are answered Method not found")
      ->allow_extra_args(false);
  cmd->add_option("server", opt->server, "The MCP server command, after --");

  auto pins_opt = std::make_shared<PinsOptions>();
  CLI::App* pins = cmd->add_subcommand("pins", "Tool definition pins (rug-pull protection)");
  pins->require_subcommand(1);
  CLI::App* list = pins->add_subcommand("list", "List pinned tools as JSON lines");
  list->add_option("--store", pins_opt->store, "SQLite store");
  list->add_option("tool", pins_opt->tool, "Only this tool");
  list->callback([pins_opt, exit_code] { *exit_code = RunPinsList(*pins_opt); });
  CLI::App* accept = pins->add_subcommand("accept", "Accept changed tool definitions");
  accept->add_option("--store", pins_opt->store, "SQLite store");
  accept->add_option("tool", pins_opt->tool, "Only this tool (default: every changed tool)");
  accept->callback([pins_opt, exit_code] { *exit_code = RunPinsAccept(*pins_opt); });

  cmd->callback([cmd, opt, exit_code] {
    if (cmd->got_subcommand("pins")) return;
    if (opt->policy.empty()) {
      *exit_code = Fail("--policy is required");
      return;
    }
    *exit_code = RunMcp(*opt);
  });
}

const CommandRegistration kRegistration("mcp", &AddMcp);

}  // namespace
}  // namespace interlock::cli
