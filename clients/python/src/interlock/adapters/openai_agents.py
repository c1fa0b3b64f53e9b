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

Nothing is imported from ``agents``: the tool is duck-typed (``name``, ``on_invoke_tool``).
"""
from __future__ import annotations

import copy
import functools
import json
from typing import Any, Iterable, List, Optional

from ..errors import Denied
from ._common import denial_message, guard_async, resolve_run


def guard_function_tool(tool: Any, *, run: Any = None, name: Optional[str] = None,
                        approval_timeout: Optional[float] = None) -> Any:
    """A copy of ``tool`` whose invocations go through Interlock as tool ``name`` (default
    ``tool.name``). ``run``: a Run/AsyncRun; default the current run at call time."""
    tool_name = name or getattr(tool, "name", None)
    original = getattr(tool, "on_invoke_tool", None)
    if not isinstance(tool_name, str) or not tool_name or not callable(original):
        raise TypeError("not a FunctionTool: needs a name and an on_invoke_tool(ctx, json)")

    @functools.wraps(original)
    async def on_invoke_tool(ctx: Any, args_json: str) -> Any:
        r = resolve_run(run, tool_name)
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


def guard_agent(agent: Any, **options: Any) -> Any:
    """A copy of an ``Agent`` whose function tools are guarded."""
    guarded = copy.copy(agent)
    object.__setattr__(guarded, "tools", guard_tools(getattr(agent, "tools", []), **options))
    return guarded
