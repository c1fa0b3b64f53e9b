// Agent policies (YAML text) that more than one daemon suite serves. Header-only.
#ifndef INTERLOCK_TESTS_INTEGRATION_DAEMON_DAEMON_POLICIES_H_
#define INTERLOCK_TESTS_INTEGRATION_DAEMON_DAEMON_POLICIES_H_

namespace interlock::testing {

// ping-agent: one tool, `ping`, allowed; 1000 steps a run.
inline constexpr char kPingAgent[] = R"(agent:
  id: "ping-agent"
  identity: "ping-agent@example.iam"
tools:
  allowed:
    - name: "ping"
execution:
  max_steps: 1000
)";

// fleet-agent: one tool, `read_document`, allowed; 30 steps a run (the fleet suites' cap).
inline constexpr char kFleetAgent[] = R"(agent:
  id: "fleet-agent"
  identity: "fleet-agent@test.local"
tools:
  allowed:
    - name: "read_document"
execution:
  max_steps: 30
)";

// ev: the reference MCP server's echo, get-sum and get-env allowed (audit_based).
inline constexpr char kEvAgent[] = R"(agent:
  id: "ev"
  identity: "ev@example.iam"
  autonomy: audit_based
tools:
  allowed:
    - name: "echo"
    - name: "get-sum"
    - name: "get-env"
)";

// appr-agent's head: its identity and the tools that ask reviewers first: send_email (its
// api_key redacted), drop_table (irreversible, large, two approvals) and quick (1 s to
// answer). A suite appends its own tools and `execution:`.
inline constexpr char kApprAgentHead[] = R"(agent:
  id: "appr-agent"
  identity: "appr-agent@example.iam"
tools:
  allowed:
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 300
      redact: ["api_key"]
    - name: "drop_table"
      reversible: false
      blast_radius: large
      approvals_required: 2
      approval_timeout_seconds: 300
    - name: "quick"
      requires_approval: true
      approval_timeout_seconds: 1
)";

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_DAEMON_DAEMON_POLICIES_H_
