# Sourced by bench-decide.sh and compare-decide.sh: the inputs both time decide on.
# decide_lines N FILE: N JSON lines made from the seed policy's tools (reads, out-of-scope
# reads, status updates, blocked and unknown tools).
# raised_budgets SEED FILE: a copy of the seed policy with its run budgets raised, so every
# line is decided in full instead of hitting RUN_HALTED after step 25.
decide_lines() {
  awk -v n="$1" 'BEGIN {
    split("read|scope|update|blocked|unknown", kinds, "|");
    for (i = 0; i < n; i++) {
      k = kinds[i % 5 + 1];
      if (k == "read") t = "{\"tool\":\"read_customer_record\",\"args\":{\"customer_id\":\"C-" i "\",\"fields\":[\"order_history\"]},\"usage\":{\"tokens\":1,\"cost_usd\":0.0001}}";
      else if (k == "scope") t = "{\"tool\":\"read_customer_record\",\"args\":{\"customer_id\":\"C-" i "\",\"fields\":[\"payment_details\"]}}";
      else if (k == "update") t = "{\"tool\":\"update_order_status\",\"args\":{\"order_id\":\"O-" i "\",\"status\":\"shipped\"}}";
      else if (k == "blocked") t = "{\"tool\":\"delete_customer_record\",\"args\":{\"customer_id\":\"C-" i "\"}}";
      else t = "{\"tool\":\"drop_table\",\"args\":{}}";
      print t;
    }
  }' > "$2"
}

raised_budgets() {
  sed -e 's/max_steps: 25/max_steps: 100000000/' \
      -e 's/max_tokens_per_run: 50000/max_tokens_per_run: 100000000/' \
      -e 's/max_cost_usd: 2.00/max_cost_usd: 1000000/' "$1" > "$2"
}
