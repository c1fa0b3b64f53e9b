#!/usr/bin/env python3
"""The seed's support agent (examples/policies/support-agent-v2.yaml) as a plain loop,
every tool call going through Interlock.

The "model" is scripted (the model is not what this shows): each turn it asks for one tool
call, reads the result or Interlock's refusal, and goes on. The tools are a fake CRM in
memory. Against the daemon of `make run`:

    make run                                   # terminal 1: prints the tokens
    export INTERLOCK_TOKEN=<agent support-agent-v2 token>
    python3 examples/agents/python/support_agent.py   # terminal 2

The email needs a human: approve it at the printed URL (reviewer token), or with
`INTERLOCK_TOKEN=<reviewer token> build/interlock approvals approve apr_...`.
Environment: INTERLOCK_URL (default http://127.0.0.1:8181), INTERLOCK_TOKEN,
SUPPORT_AGENT_APPROVAL_TIMEOUT (seconds to wait for the reviewer, default 120).
"""
from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Optional

try:
    import interlock
except ImportError:  # not installed: use the source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                    "clients", "python", "src"))
    import interlock

from interlock import ApprovalTimeout, Client, Decision, Denied, Unavailable

# -- the tools: a fake CRM --------------------------------------------------------------
CUSTOMERS = {
    "C-1042": {"customer_id": "C-1042", "order_history": ["O-7731"],
               "contact_info": {"email": "dana@example.com"},
               "payment_details": {"card": "4111 1111 1111 1111"}},
}
ORDERS = {"O-7731": {"status": "processing"}}
OUTBOX: List[Dict[str, Any]] = []


def read_customer_record(customer_id: str, fields: List[str]) -> Dict[str, Any]:
    record = CUSTOMERS[customer_id]
    return {f: record[f] for f in fields if f in record}


def update_order_status(order_id: str = "", status: str = "", order_ids: Optional[List[str]] = None
                        ) -> Dict[str, Any]:
    ids = order_ids or [order_id]
    for i in ids:
        ORDERS.setdefault(i, {})["status"] = status
    return {"updated": ids, "status": status}


def send_customer_email(customer_id: str, subject: str, body: str) -> str:
    OUTBOX.append({"to": CUSTOMERS[customer_id]["contact_info"]["email"], "subject": subject,
                   "body": body})
    return "sent"


def delete_customer_record(customer_id: str) -> str:
    CUSTOMERS.pop(customer_id, None)
    return "deleted"


TOOLS = {f.__name__: f for f in (read_customer_record, update_order_status, send_customer_email,
                                 delete_customer_record)}

# -- the scripted model: one tool call per turn, with the usage of that turn --------------
SCRIPT = [
    ("read_customer_record", {"customer_id": "C-1042", "fields": ["order_history",
                                                                  "contact_info"]}, 1800),
    ("read_customer_record", {"customer_id": "C-1042", "fields": ["payment_details"]}, 900),
    ("update_order_status", {"order_id": "O-7731", "status": "refunded"}, 1100),
    ("update_order_status", {"order_id": "O-7731", "status": "deleted"}, 700),
    ("delete_customer_record", {"customer_id": "C-1042"}, 600),
    ("send_customer_email", {"customer_id": "C-1042", "subject": "Your refund",
                             "body": "Your refund for O-7731 is on its way."}, 1500),
    ("update_order_status", {"order_ids": [f"O-{i}" for i in range(1, 12)],
                             "status": "cancelled"}, 2000),
    ("read_customer_record", {"customer_id": "C-1042", "fields": ["order_history"]}, 40000),
    ("read_customer_record", {"customer_id": "C-1042", "fields": ["order_history"]}, 6000),
    ("read_customer_record", {"customer_id": "C-1042", "fields": ["contact_info"]}, 0),
]


def scripted_model(transcript: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The next tool call, or None when the model is done."""
    turn = sum(1 for m in transcript if m["role"] == "tool")
    if turn >= len(SCRIPT):
        return None
    tool, args, tokens = SCRIPT[turn]
    return {"tool": tool, "args": args, "tokens": tokens}


def show_pending(d: Decision) -> None:
    print(f"   ... waiting for a reviewer: {d.approval_url or d.approval_id}", flush=True)


def main() -> int:
    timeout = float(os.environ.get("SUPPORT_AGENT_APPROVAL_TIMEOUT", "120"))
    client = Client()
    transcript: List[Dict[str, Any]] = [{"role": "user", "content": "Refund O-7731 for C-1042"}]
    try:
        with client.run() as run:
            print(f"run {run.run_id} on {client.url}")
            while True:
                call = scripted_model(transcript)
                if call is None:
                    break
                tool, args = call["tool"], call["args"]
                print(f"-> {tool} {args}")
                try:
                    out = run.guard(tool, args, TOOLS[tool], tokens=call["tokens"],
                                    approval_timeout=timeout, on_pending=show_pending)
                    content = {"ok": out}
                    print(f"   allowed: {out}")
                except ApprovalTimeout as e:
                    content = {"refused": str(e)}
                    print(f"   no verdict in time: {e.decision.code}")
                except Denied as e:
                    # The model reads the refusal and carries on with something else.
                    content = {"refused": f"{e.decision.code}: {e.decision.reason}"}
                    print(f"   denied {e.decision.code}: {e.decision.reason}")
                transcript.append({"role": "tool", "tool": tool, "content": content})
            state = run.state()
            print(f"run state: steps={state.get('steps')} tokens={state.get('tokens')} "
                  f"halted={state.get('halted')} {state.get('halt_reason', '')}")
    except Unavailable as e:
        print(f"Interlock is unavailable, nothing ran: {e}", file=sys.stderr)
        return 1
    except interlock.Unauthenticated:
        print("the token was refused: export INTERLOCK_TOKEN=<the agent token `make run` "
              "printed>", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"configuration: {e}", file=sys.stderr)
        return 2
    print(f"emails sent: {len(OUTBOX)}; customer records left: {len(CUSTOMERS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
