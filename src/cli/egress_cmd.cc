// `interlock egress`: the flags of the egress proxy on its own, whose door is
// doors/egress/command.h (the proxy, its policy, store and run, or a daemon's). This
// command hands it the embedded store's backend, the one daemon client (mcp::DaemonEnforcer)
// and the OpenTelemetry exporter.
#include <memory>
#include <string>
#include <utility>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/local_store.h"
#include "doors/egress/command.h"
#include "doors/egress/daemon_decider.h"
#include "mcp/daemon_enforcer.h"
#include "telemetry/setup.h"

namespace interlock::cli {
namespace {

struct EgressFlags {
  EnforcementFlags enforcement;
  egress::EgressCommandOptions proxy;
};

// The daemon client as the egress door drives it.
class EnforcerEgressDaemon final : public egress::EgressDaemon {
 public:
  explicit EnforcerEgressDaemon(std::unique_ptr<mcp::DaemonEnforcer> daemon)
      : daemon_(std::move(daemon)) {}
  Result<std::string> StartRun() override {
    auto run = daemon_->StartRun();
    if (!run.ok()) return run.error();
    return std::move(run->agent_id);
  }
  void UseRun(std::string run_id) override { daemon_->UseRun(std::move(run_id)); }
  std::string run_id() const override { return daemon_->run_id(); }
  Status EndRun() override { return daemon_->EndRun(); }
  std::unique_ptr<egress::EgressDecider> MakeDecider() override {
    return MakeDaemonEgressDecider(daemon_.get());
  }

 private:
  std::unique_ptr<mcp::DaemonEnforcer> daemon_;
};

int RunEgress(EgressFlags* flags) {
  static const EmbeddedStores kStores;
  egress::EgressCommandOptions& o = flags->proxy;
  ApplyEnforcementFlags(flags->enforcement, &kStores, &o);
  o.connect_daemon = [](const std::string& url, const std::string& token_env,
                        const std::string& ca) -> Result<std::unique_ptr<egress::EgressDaemon>> {
    auto d = mcp::DaemonEnforcerFromEnv(DaemonClientConnector(), url, token_env, ca);
    if (!d.ok()) return d.error();
    return std::unique_ptr<egress::EgressDaemon>(
        std::make_unique<EnforcerEgressDaemon>(std::move(*d)));
  };
  o.start_telemetry = []() -> Result<std::unique_ptr<telemetry::Sink>> {
    auto otel = telemetry::StartExporter({}, {}, "interlock egress");
    if (!otel.ok()) return otel.error();
    return std::unique_ptr<telemetry::Sink>(std::move(*otel));
  };
  return egress::RunEgressCommand(o);
}

void AddEgress(CLI::App& app, int* exit_code) {
  auto [cmd, flags] = AddSubcommand<EgressFlags>(
      app, "egress",
      "Egress proxy: interlock egress (--policy P [--agent ID] [--store PATH] | --daemon URL "
      "--token-env VAR [--run ID]) --listen 127.0.0.1:PORT. A forward proxy (HTTP absolute-form "
      "and CONNECT) whose every connection is decided by the agent's egress.allow and "
      "audited.",
      exit_code, [](EgressFlags& f) { return RunEgress(&f); });
  egress::EgressCommandOptions* opt = &flags->proxy;
  AddEnforcementFlags(cmd, &flags->enforcement);
  cmd->add_option("--listen", opt->listen, "ADDRESS:PORT to listen on (default 127.0.0.1:0)");
  cmd->add_option("--listen-unix", opt->listen_unix, "Also listen on this Unix socket (0600)");
  cmd->add_option("--workspace", opt->workspace, "The directory ${workspace} stands for");
  cmd->add_option("--run", opt->run,
                  "With --daemon: decide in this run of the token's agent (e.g. the run its "
                  "tool calls go to) instead of starting one");
}

const CommandRegistration kRegisterEgress("egress", &AddEgress);

}  // namespace
}  // namespace interlock::cli
