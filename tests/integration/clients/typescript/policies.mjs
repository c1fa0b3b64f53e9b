// The policies the tests run against (the seed's support agent, plus small agents for the
// deny codes that need their own limits).
export const SUPPORT = `agent:
  id: "support-agent-v2"
  identity: "support-agent@myco.iam"
tools:
  allowed:
    - name: "read_customer_record"
      scope: ["customer_id", "order_history", "contact_info"]
    - name: "update_order_status"
      constraints:
        max_records_per_run: 2
        allowed_statuses: ["cancelled", "refunded", "processing"]
    - name: "send_customer_email"
      requires_approval: true
      approval_timeout_seconds: 300
      auto_deny_on_timeout: true
    - name: "lookup_faq"
      rate_limit: {calls: 1, per_seconds: 3600}
  blocked:
    - "delete_customer_record"
    - "access_payment_raw"
    - "bulk_send_email"
execution:
  max_steps: 25
  max_tokens_per_run: 50000
  max_wall_clock_seconds: 600
  max_cost_usd: 2.00
  on_budget_exceeded:
    action: "halt_and_escalate"
`;

export const QUICK_TIMEOUT = `agent:
  id: "quick-approval-agent"
tools:
  allowed:
    - name: "send_customer_email"
      requires_approval: true
      approval_timeout_seconds: 1
      auto_deny_on_timeout: true
execution:
  max_steps: 25
`;

// One agent per remaining deny code: a freeze window covering now, a day quota of one call,
// a workflow whose first state permits only run_tests.
export const FROZEN = `agent:
  id: "frozen-agent"
tools:
  allowed:
    - name: "deploy"
freeze:
  - name: "year-end"
    start: "2000-01-01T00:00:00Z"
    end: "2100-01-01T00:00:00Z"
    tools: ["deploy"]
    reason: "change freeze"
`;

export const QUOTA = `agent:
  id: "quota-agent"
tools:
  allowed:
    - name: "lookup"
quotas:
  calls_per_day: 1
`;

export const WORKFLOW = `agent:
  id: "workflow-agent"
tools:
  allowed:
    - name: "run_tests"
    - name: "deploy"
workflow:
  initial: untested
  states:
    untested:
      allow: ["run_tests"]
      transitions:
        - tool: "run_tests"
          on: ok
          to: tested
    tested:
      allow: ["deploy"]
`;

export const POLICIES = {
  "frozen-agent.yaml": FROZEN,
  "quota-agent.yaml": QUOTA,
  "workflow-agent.yaml": WORKFLOW,
  "support-agent-v2.yaml": SUPPORT,
  "quick-approval-agent.yaml": QUICK_TIMEOUT,
};
