"""Child runs from Python (docs/governance.md#child-runs): Run.start_child / run.child(), the
OpenAI Agents SDK adapter's handoffs and the LangChain adapter's LangGraph subgraphs, against a
real `interlock serve` on 127.0.0.1:0.

The frameworks (openai-agents, langgraph) are not installable on these machines (no PyPI, no
Debian package): as in test_python_client.Adapters, stand-ins shaped like their objects drive
the adapters, and `sdk_run` below plays the part of the SDK's run loop (agents/_run_impl.py)
as far as the adapter hooks it: a handoff is `on_invoke_handoff` (an Agent in `handoffs` is
its own handoff), then `hooks.on_handoff(ctx, agent=new, source=old)`; the final output is
`hooks.on_end(ctx, agent, output)`.

The agent "desk" may read, refund and look up; its role "billing-agent" may only read and
look up invoices (and close accounts, which the parent blocks); "researcher" may only read.
"""
from __future__ import annotations

import asyncio
import contextvars
import json
import os
import tempfile
import threading
import unittest

from interlock import AsyncClient, Client, NoActiveRun
from interlock.adapters import langchain as lc_adapter
from interlock.adapters import openai_agents as oa_adapter

from daemon import Daemon
from test_python_client import FakeFunctionTool, FakeLangChainTool

POLICIES = {
    "desk.yaml": """agent:
  id: "desk"
tools:
  allowed:
    - name: "read_ticket"
    - name: "issue_refund"
    - name: "lookup_invoice"
  blocked:
    - "close_account"
execution:
  max_steps: 6
""",
    "billing.yaml": """agent:
  id: "desk/billing-agent"
tools:
  allowed:
    - name: "read_ticket"
    - name: "lookup_invoice"
    - name: "close_account"
execution:
  max_steps: 100
""",
    "researcher.yaml": """agent:
  id: "desk/researcher"
tools:
  allowed:
    - name: "read_ticket"
""",
}

D: Daemon = None  # type: ignore[assignment]
TOKENS = {}


def setUpModule() -> None:
    global D
    src = tempfile.mkdtemp(prefix="interlock-child-policies-")
    for name, text in POLICIES.items():
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    D = Daemon(policies_from=src)
    TOKENS["agent"] = D.token("--agent", "desk")
    TOKENS["reviewer"] = D.token("--reviewer", "rita")
    TOKENS["admin"] = D.token("--admin", "op")
    D.start()


def tearDownModule() -> None:
    if D:
        D.stop()


def client() -> Client:
    return Client(url=D.url, token=TOKENS["agent"], timeout=10, backoff=0.05)


def run_state(run_id: str) -> dict:
    st, body = D.http("GET", "/v1/runs/" + run_id, TOKENS["reviewer"])
    assert st == 200, body
    return body


class ChildRuns(unittest.TestCase):
    def test_start_child_is_a_child_run_with_parent_and_role(self):
        with client().run() as run:
            child = run.start_child("billing-agent")
            self.assertEqual((child.parent_run_id, child.role, child.depth),
                             (run.run_id, "billing-agent", 1))
            s = child.state()
            self.assertEqual((s["parent_run_id"], s["role"]), (run.run_id, "billing-agent"))
            self.assertEqual(run.state()["children"], [child.run_id])

    def test_child_context_manager_is_the_current_run_and_ends_the_child(self):
        c = client()
        seen = []

        @c.guarded("read_ticket")
        def read_ticket(id: str) -> str:
            return "ticket " + id

        with c.run() as run:
            with run.child("researcher") as child:
                self.assertEqual(read_ticket("t-1"), "ticket t-1")
                seen.append(child.run_id)
            with self.assertRaises(RuntimeError):
                with run.child("researcher") as child:
                    seen.append(child.run_id)
                    raise RuntimeError("boom")
            self.assertTrue(all(run_state(i)["ended"] for i in seen), "both children ended")
            self.assertFalse(run_state(run.run_id)["ended"], "the parent runs on")
            self.assertEqual(run_state(seen[0])["records"], {"read_ticket": 1})

    def test_async_child_context_manager_ends_the_child(self):
        async def main():
            async with AsyncClient(url=D.url, token=TOKENS["agent"]).run() as run:
                async with run.child("researcher") as child:
                    self.assertEqual(child.parent_run_id, run.run_id)
                    self.assertEqual((await child.state())["role"], "researcher")
                return child.run_id

        self.assertTrue(run_state(asyncio.run(main()))["ended"])

    def test_role_name_is_what_a_policy_id_allows(self):
        self.assertEqual(oa_adapter.role_name("Billing Agent"), "billing-agent")
        self.assertEqual(oa_adapter.role_name("  Ünïcode / support!! "), "n-code-support")
        self.assertEqual(oa_adapter.role_name("code_reviewer.v2"), "code_reviewer.v2")
        self.assertIsNone(oa_adapter.role_name("!!!"))
        self.assertEqual(len(oa_adapter.role_name("x" * 300)), 64)


# -- the OpenAI Agents SDK's handoffs (stand-ins) -------------------------------------------
class FakeAgent:
    """agents.Agent: name, tools, handoffs (Agents or Handoffs), hooks (AgentHooks)."""

    def __init__(self, name, tools=(), handoffs=(), hooks=None):
        self.name = name
        self.tools = list(tools)
        self.handoffs = list(handoffs)
        self.hooks = hooks


class FakeHandoff:
    """agents.Handoff (what agents.handoff(agent, on_handoff=...) builds): tool_name,
    agent_name, on_invoke_handoff(ctx, input_json) -> the agent handed off to."""

    def __init__(self, agent, on_handoff=None):
        self.tool_name = "transfer_to_" + agent.name.replace(" ", "_")
        self.agent_name = agent.name

        async def on_invoke_handoff(ctx, input_json):
            if on_handoff:
                on_handoff(ctx)
            return agent

        self.on_invoke_handoff = on_invoke_handoff


async def sdk_run(agent, script):
    """The SDK's run loop, as far as the adapter hooks it. Steps: ("tool", name) calls the
    current agent's tool; ("handoff", agent_name) hands off; ("final", text) ends. Returns
    what the model read back."""
    ctx = object()  # the SDK's RunContextWrapper
    outputs = []
    for step in script:
        if step[0] == "tool":
            (t,) = [t for t in agent.tools if t.name == step[1]]
            outputs.append(await t.on_invoke_tool(ctx, json.dumps({"id": "t-1"})))
        elif step[0] == "handoff":
            (h,) = [h for h in agent.handoffs
                    if getattr(h, "agent_name", getattr(h, "name", None)) == step[1]]
            new = await h.on_invoke_handoff(ctx, "") if hasattr(h, "on_invoke_handoff") else h
            if agent.hooks:
                await agent.hooks.on_handoff(ctx, agent=new, source=agent)
            agent = new
        else:
            if agent.hooks:
                await agent.hooks.on_end(ctx, agent, step[1])
            return outputs
    return outputs


def desk_agents(ran: list, handoff_object: bool = False, on_handoff=None):
    def mk(name):
        return FakeFunctionTool(name, lambda id, _n=name: (ran.append(_n), f"{_n} ok")[1])

    billing = FakeAgent("Billing Agent", [mk("lookup_invoice"), mk("issue_refund"),
                                          mk("close_account")])
    triage = FakeAgent("triage", [mk("read_ticket"), mk("issue_refund")],
                       [FakeHandoff(billing, on_handoff) if handoff_object else billing])
    billing.handoffs = [triage]
    return triage


class Handoffs(unittest.TestCase):
    def handoff(self, script, **kw):
        ran: list = []

        async def main():
            async with AsyncClient(url=D.url, token=TOKENS["agent"]).run(end=False) as run:
                out = await sdk_run(oa_adapter.guard_agent(desk_agents(ran, **kw)), script)
                return run.run_id, out

        run_id, out = asyncio.run(main())
        return run_state(run_id), ran, "\n".join(out)

    def test_handoff_call_is_decided_in_a_child_run_ended_by_the_final_output(self):
        root, ran, _ = self.handoff([("tool", "read_ticket"), ("handoff", "Billing Agent"),
                                     ("tool", "lookup_invoice"), ("final", "done")])
        self.assertEqual(ran, ["read_ticket", "lookup_invoice"])
        self.assertEqual(len(root["children"]), 1)
        child = run_state(root["children"][0])
        self.assertEqual((child["parent_run_id"], child["role"]),
                         (root["run_id"], "billing-agent"))
        self.assertEqual(child["records"], {"lookup_invoice": 1})
        self.assertTrue(child["ended"], "the final output ended the child run")

    def test_child_refused_a_tool_its_parent_may_use_when_the_role_policy_is_narrower(self):
        _, ran, out = self.handoff([("tool", "issue_refund"), ("handoff", "Billing Agent"),
                                    ("tool", "issue_refund"), ("final", "done")])
        self.assertEqual(ran, ["issue_refund"], "only the parent's refund ran")
        self.assertIn("TOOL_NOT_ALLOWED", out)

    def test_parent_deny_binds_the_child(self):
        root, ran, out = self.handoff([("handoff", "Billing Agent"), ("tool", "close_account"),
                                       ("final", "done")])
        self.assertEqual(ran, [])
        self.assertIn("TOOL_BLOCKED: parent run " + root["run_id"], out)

    def test_child_steps_are_drawn_from_the_parents_budget(self):
        script = [("tool", "read_ticket")] * 2 + [("handoff", "Billing Agent")] + \
                 [("tool", "lookup_invoice")] * 5 + [("final", "done")]
        root, ran, out = self.handoff(script)
        self.assertEqual(ran.count("lookup_invoice"), 4, "the parent's max_steps 6 bounds it")
        self.assertIn("BUDGET_EXCEEDED: parent run", out)
        child = run_state(root["children"][0])
        self.assertEqual(root["steps"], 2 + child["steps"])

    def test_child_ended_when_the_handoff_returns(self):
        root, ran, _ = self.handoff([("handoff", "Billing Agent"), ("tool", "lookup_invoice"),
                                     ("handoff", "triage"), ("tool", "issue_refund")])
        self.assertEqual(ran, ["lookup_invoice", "issue_refund"])
        child = run_state(root["children"][0])
        self.assertTrue(child["ended"], "handing back ended the child run")
        self.assertEqual(child["records"], {"lookup_invoice": 1})
        self.assertEqual(root["records"], {"issue_refund": 1, "lookup_invoice": 1})

    def test_handoff_object_keeps_its_callback_and_runs_in_a_child_run(self):
        called = []
        root, ran, _ = self.handoff([("handoff", "Billing Agent"), ("tool", "lookup_invoice"),
                                     ("final", "done")], handoff_object=True,
                                    on_handoff=called.append)
        self.assertEqual(len(called), 1)
        self.assertEqual(ran, ["lookup_invoice"])
        self.assertEqual(run_state(root["children"][0])["role"], "billing-agent")

    def test_handoff_under_a_killed_run_fails_closed(self):
        ran: list = []

        async def main():
            async with AsyncClient(url=D.url, token=TOKENS["agent"]).run() as run:
                st, body = D.http("POST", "/v1/kill", TOKENS["admin"], {
                    "scope": "run", "target": run.run_id, "engaged": True, "reason": "test"})
                self.assertEqual(st, 200, body)
                with self.assertRaises(Exception) as e:
                    await sdk_run(oa_adapter.guard_agent(desk_agents(ran)),
                                  [("handoff", "Billing Agent"), ("tool", "lookup_invoice")])
                self.assertIn("400", str(e.exception))
                self.assertEqual((await run.state())["children"], [])

        asyncio.run(main())
        self.assertEqual(ran, [])

    def test_a_handoff_from_a_child_is_a_child_of_the_child(self):
        ran: list = []
        triage = desk_agents(ran)
        billing = triage.handoffs[0]
        clerk = FakeAgent("Refund Clerk", [FakeFunctionTool(
            "issue_refund", lambda id: (ran.append("issue_refund"), "ok")[1])])
        billing.handoffs.append(clerk)

        async def main():
            async with AsyncClient(url=D.url, token=TOKENS["agent"]).run(end=False) as run:
                out = await sdk_run(oa_adapter.guard_agent(triage), [
                    ("handoff", "Billing Agent"), ("handoff", "Refund Clerk"),
                    ("tool", "issue_refund"), ("final", "done")])
                return run.run_id, out

        run_id, out = asyncio.run(main())
        (b,) = run_state(run_id)["children"]
        (c,) = run_state(b)["children"]
        clerk_run = run_state(c)
        self.assertEqual((clerk_run["parent_run_id"], clerk_run["depth"], clerk_run["role"]),
                         (b, 2, "refund-clerk"))
        # The clerk has no role policy (the agent's own allows refunds), but the billing
        # agent above it may not refund: B cannot widen what C may do.
        self.assertEqual(ran, [])
        self.assertIn("TOOL_NOT_ALLOWED: parent run " + b, "\n".join(out))
        self.assertTrue(clerk_run["ended"] and run_state(b)["ended"])

    def test_guard_agent_leaves_the_originals_alone(self):
        triage = desk_agents([])
        guarded = oa_adapter.guard_agent(triage)
        self.assertIsNot(guarded, triage)
        self.assertIsNot(guarded.handoffs[0], triage.handoffs[0])
        self.assertIs(guarded.handoffs[0].handoffs[0], guarded, "cycles map to the copies")
        self.assertFalse(hasattr(triage.tools[0], "_interlock_guarded"))
        with self.assertRaises(NoActiveRun):
            asyncio.run(guarded.tools[0].on_invoke_tool(None, '{"id": "x"}'))


# -- LangGraph subgraphs (stand-ins) --------------------------------------------------------
class FakeGraph:
    """A compiled LangGraph graph, as far as a parent graph uses a subgraph node: name,
    invoke (nodes run in an executor thread in a copy of the caller's context, as LangGraph
    does) and ainvoke (nodes run as tasks, which copy the context)."""

    def __init__(self, name, tools):
        self.name = name
        self.tools = tools

    def invoke(self, state, config=None):
        ctx = contextvars.copy_context()
        out = []
        t = threading.Thread(target=lambda: out.extend(
            ctx.run(lambda: [tool.invoke({"id": "t-1"}) for tool in self.tools])))
        t.start()
        t.join(30)
        return {"messages": out}

    async def ainvoke(self, state, config=None):
        async def node(tool):
            return await tool.ainvoke({"id": "t-1"})

        return {"messages": [await asyncio.create_task(node(t)) for t in self.tools]}


class Subgraphs(unittest.TestCase):
    def tools(self, ran):
        return lc_adapter.guard_tools([
            FakeLangChainTool(n, lambda id, _n=n: (ran.append(_n), f"{_n} ok")[1])
            for n in ("read_ticket", "issue_refund")])

    def check(self, run_id, ran, out):
        self.assertEqual(ran, ["read_ticket", "issue_refund"],
                         "the subgraph's refund was refused, the parent's ran")
        self.assertIn("TOOL_NOT_ALLOWED", "\n".join(out["messages"]))
        root = run_state(run_id)
        child = run_state(root["children"][0])
        self.assertEqual((child["parent_run_id"], child["role"]), (run_id, "researcher"))
        self.assertTrue(child["ended"], "the child ended when the subgraph returned")
        self.assertEqual(child["steps"], 2)
        self.assertEqual(root["steps"], 3, "the child's steps are the parent's too")

    def test_subgraph_tool_calls_are_decided_in_a_child_run_ended_when_it_returns(self):
        ran: list = []
        tools = self.tools(ran)
        sub = lc_adapter.guard_subgraph(FakeGraph("Researcher", tools))
        with client().run(end=False) as run:
            out = sub.invoke({"messages": []})
            tools[1].invoke({"id": "t-2"})  # the parent's own refund
        self.check(run.run_id, ran, out)

    def test_async_subgraph_tool_calls_are_decided_in_a_child_run(self):
        ran: list = []
        tools = self.tools(ran)
        sub = lc_adapter.guard_subgraph(FakeGraph("x", tools), role="researcher")

        async def main():
            async with AsyncClient(url=D.url, token=TOKENS["agent"]).run(end=False) as run:
                out = await sub.ainvoke({"messages": []})
                await tools[1].ainvoke({"id": "t-2"})
                return run.run_id, out

        run_id, out = asyncio.run(main())
        self.check(run_id, ran, out)

    def test_subgraph_that_raises_still_ends_its_child(self):
        class Failing(FakeGraph):
            def invoke(self, state, config=None):
                raise RuntimeError("node failed")

        sub = lc_adapter.guard_subgraph(Failing("Researcher", []))
        with client().run() as run:
            with self.assertRaises(RuntimeError):
                sub.invoke({})
            (child,) = run.state()["children"]
            self.assertTrue(run_state(child)["ended"])


if __name__ == "__main__":
    unittest.main()
