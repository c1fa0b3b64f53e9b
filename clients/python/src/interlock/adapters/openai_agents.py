"""OpenAI Agents SDK (``openai-agents``, ``from agents import function_tool``).

Every call of a wrapped ``FunctionTool`` goes through Interlock on the current run: the
SDK's ``on_invoke_tool(ctx, args_json)`` is replaced by one that decides, waits for a
pending approval on Interlock's queue, then invokes the original and reports its result. A
denial becomes the tool's result, a string the model can read, not a crash. Interlock's
approval queue replaces the SDK's local ``needs_approval`` (set to False on the copy).

    from agents import Agent, Runner, function_tool
    from interlock import AsyncClient
    from interlock.adapters.openai_agents import guard_tools

    @function_tool
    def send_customer_email(customer_id: str, subject: str, body: str) -> str: ...

    client = AsyncClient()
    agent = Agent(name="support", tools=guard_tools([send_customer_email]))
    async with client.run():
        await Runner.run(agent, "Refund order O-7731 and tell the customer")

Handoffs: ``guard_agent`` guards every agent the guarded one can hand off to (and theirs).
A receiving agent's tool calls are decided in a child run (docs/governance.md#child-runs) of
the run of the agent that handed off, with the role ``role_name(agent.name)``: under the
policy ``AGENT/ROLE`` where one is loaded, always within the parent's, on the parent's
budgets. The child starts when the SDK reports the handoff (the agents' ``hooks.on_handoff``)
and ends when control hands back to an agent above it or the final output is given
(``hooks.on_end``); a child left open ends with its parent run.

Nothing is imported from ``agents``: the tool is duck-typed (``name``, ``on_invoke_tool``);
agents (``name``, ``tools``, ``handoffs``, ``hooks``) and handoffs (``on_invoke_handoff``)
too.
"""
from __future__ import annotations

import asyncio
import copy
import functools
import json
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple

from ..errors import Denied
from ._common import denial_message, end_quietly, guard_async, resolve_run, role_name, start_child

__all__ = ["guard_agent", "guard_function_tool", "guard_tools", "role_name"]


def guard_function_tool(tool: Any, *, run: Any = None, name: Optional[str] = None,
                        approval_timeout: Optional[float] = None,
                        _run_for: Optional[Callable[[], Awaitable[Any]]] = None) -> Any:
    """A copy of ``tool`` whose invocations go through Interlock as tool ``name`` (default
    ``tool.name``). ``run``: a Run/AsyncRun; default the current run at call time."""
    tool_name = name or getattr(tool, "name", None)
    original = getattr(tool, "on_invoke_tool", None)
    if not isinstance(tool_name, str) or not tool_name or not callable(original):
        raise TypeError("not a FunctionTool: needs a name and an on_invoke_tool(ctx, json)")

    @functools.wraps(original)
    async def on_invoke_tool(ctx: Any, args_json: str) -> Any:
        r = await _run_for() if _run_for is not None else resolve_run(run, tool_name)
        try:
            args = json.loads(args_json) if args_json else {}
        except ValueError:
            return (f"Interlock refused the tool call {tool_name}: INVALID_REQUEST: the "
                    "arguments are not valid JSON. The tool did not run.")
        if not isinstance(args, dict):
            return (f"Interlock refused the tool call {tool_name}: INVALID_REQUEST: the "
                    "arguments are not a JSON object. The tool did not run.")
        try:
            # The SDK parses and validates what it is given: the agent's own text when the
            # decision kept its arguments, the reviewer's edit (as JSON) when it did not.
            return await guard_async(
                r, tool_name, args,
                lambda **final: original(ctx, args_json if final == args else json.dumps(final)),
                approval_timeout)
        except Denied as e:
            return denial_message(e)

    guarded = copy.copy(tool)
    object.__setattr__(guarded, "on_invoke_tool", on_invoke_tool)
    if hasattr(guarded, "needs_approval"):
        object.__setattr__(guarded, "needs_approval", False)
    object.__setattr__(guarded, "_interlock_guarded", True)
    return guarded


def guard_tools(tools: Iterable[Any], **options: Any) -> List[Any]:
    """``guard_function_tool`` for each function tool; other tools (hosted tools such as
    web search, which the SDK does not run locally) are passed through unchanged."""
    out = []
    for t in tools:
        out.append(guard_function_tool(t, **options) if callable(
            getattr(t, "on_invoke_tool", None)) else t)
    return out


def guard_agent(agent: Any, *, run: Any = None,
                handoff_role: Optional[Callable[[Any], Optional[str]]] = None,
                **options: Any) -> Any:
    """A copy of an ``Agent`` whose function tools are guarded, and whose handoffs lead to
    guarded copies of their agents, each acting in a child run of the run of the agent that
    handed off to it, with the role ``handoff_role(agent)`` (default
    ``role_name(agent.name)``). ``run``: a Run/AsyncRun; default the current run at call
    time. Child runs are kept per root run: run one ``Runner.run`` at a time per run."""
    return _HandoffGraph(run, handoff_role or (lambda a: role_name(getattr(a, "name", ""))),
                         options).copy_of(agent)


class _State:
    """The child runs open under one root run: a stack of (guarded agent, run)."""

    def __init__(self) -> None:
        self.stack: List[Tuple[Any, Any]] = []
        self.lock = asyncio.Lock()


class _HandoffGraph:
    """The guarded copies of one agent graph and their child runs."""

    def __init__(self, run: Any, role_of: Callable[[Any], Optional[str]],
                 options: Dict[str, Any]) -> None:
        self.run = run
        self.role_of = role_of
        self.options = options
        self.copies: Dict[int, Any] = {}  # id(original) -> guarded copy
        self.originals: Dict[int, Any] = {}  # id(guarded copy) -> original
        self.root: Any = None
        self.states: Dict[int, Tuple[Any, _State]] = {}  # id(root run) -> (root run, state)

    def copy_of(self, agent: Any) -> Any:
        if id(agent) in self.originals:
            return agent
        if id(agent) in self.copies:
            return self.copies[id(agent)]
        guarded = copy.copy(agent)
        self.copies[id(agent)] = guarded
        self.originals[id(guarded)] = agent
        if self.root is None:
            self.root = guarded

        async def run_for() -> Any:
            return await self.run_for(guarded)

        tools = []
        for t in getattr(agent, "tools", None) or []:
            tools.append(guard_function_tool(t, **self.options, _run_for=run_for) if callable(
                getattr(t, "on_invoke_tool", None)) else t)
        object.__setattr__(guarded, "tools", tools)
        # After the copy is known: handoff graphs may have cycles.
        object.__setattr__(guarded, "handoffs",
                           [self._handoff(h) for h in getattr(agent, "handoffs", None) or []])
        object.__setattr__(guarded, "hooks", _Hooks(self, getattr(agent, "hooks", None)))
        object.__setattr__(guarded, "_interlock_guarded", True)
        return guarded

    def _handoff(self, h: Any) -> Any:
        original = getattr(h, "on_invoke_handoff", None)
        if callable(original):  # a Handoff: its agent is the one it returns
            wrapped = copy.copy(h)

            @functools.wraps(original)
            async def on_invoke_handoff(ctx: Any, input_json: Any) -> Any:
                return self.copy_of(await original(ctx, input_json))

            object.__setattr__(wrapped, "on_invoke_handoff", on_invoke_handoff)
            return wrapped
        if hasattr(h, "tools") and hasattr(h, "name"):  # an Agent
            return self.copy_of(h)
        return h

    def _state(self) -> Tuple[Any, _State]:
        root_run = resolve_run(self.run, getattr(self.root, "name", "agent"))
        got = self.states.get(id(root_run))
        if got is None or got[0] is not root_run:
            got = self.states[id(root_run)] = (root_run, _State())
        return got

    async def run_for(self, agent: Any) -> Any:
        """The run ``agent`` acts in: the root run for the guarded agent, else its child
        run (started under the innermost open run when no handoff to it was seen)."""
        if agent is self.root:
            return resolve_run(self.run, getattr(agent, "name", "agent"))
        root_run, state = self._state()
        async with state.lock:
            for a, r in state.stack:
                if a is agent:
                    return r
            return await self._push(root_run, state, agent)

    async def _push(self, root_run: Any, state: _State, agent: Any) -> Any:
        parent = state.stack[-1][1] if state.stack else root_run
        child = await start_child(parent, self.role_of(self.originals.get(id(agent), agent)))
        state.stack.append((agent, child))
        return child

    async def enter(self, agent: Any) -> None:
        """A handoff to ``agent``: back to the guarded agent or to one on the stack ends the
        runs above it; to any other starts its child run under the innermost open run (a
        child that cannot start raises: the handoff fails)."""
        agent = self.copy_of(agent)
        root_run, state = self._state()
        async with state.lock:
            if agent is self.root:
                await self._end_above(state, 0)
                return
            for i, (a, _) in enumerate(state.stack):
                if a is agent:
                    await self._end_above(state, i + 1)
                    return
            await self._push(root_run, state, agent)

    async def finish(self) -> None:
        """The final output: every child run still open is ended, innermost first."""
        root_run, state = self._state()
        async with state.lock:
            await self._end_above(state, 0)
        self.states.pop(id(root_run), None)

    @staticmethod
    async def _end_above(state: _State, keep: int) -> None:
        while len(state.stack) > keep:
            _, r = state.stack.pop()
            await end_quietly(r)


class _Hooks:
    """An agent's ``hooks`` (the SDK's AgentHooks): the handoff and the final output move the
    child runs, then the agent's own hooks (if any) are called; every other hook is the
    agent's own, or does nothing."""

    def __init__(self, graph: _HandoffGraph, inner: Any) -> None:
        self._graph = graph
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("_inner")
        if inner is not None and hasattr(inner, name):
            return getattr(inner, name)
        if name.startswith("on_"):
            async def nothing(*args: Any, **kwargs: Any) -> None:
                return None
            return nothing
        raise AttributeError(name)

    async def on_handoff(self, context: Any, agent: Any, source: Any) -> None:
        await self._graph.enter(agent)
        if self._inner is not None and hasattr(self._inner, "on_handoff"):
            await self._inner.on_handoff(context, agent, source)

    async def on_end(self, context: Any, agent: Any, output: Any) -> None:
        await self._graph.finish()
        if self._inner is not None and hasattr(self._inner, "on_end"):
            await self._inner.on_end(context, agent, output)
