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

export const POLICIES = {
  "support-agent-v2.yaml": SUPPORT,
  "quick-approval-agent.yaml": QUICK_TIMEOUT,
};
