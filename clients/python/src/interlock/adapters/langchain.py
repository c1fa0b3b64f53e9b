"""LangChain / LangGraph tools (``BaseTool``, ``StructuredTool``, ``@tool``, ``ToolNode``).

A wrapped tool's ``_run`` and ``_arun`` go through Interlock on the current run, so
``invoke``/``ainvoke``/``run`` and LangGraph's ``ToolNode`` are all guarded. A denial is
returned as the tool's output (a string the model reads); ``on_deny="raise"`` raises
``interlock.Denied`` instead.

    from langchain_core.tools import tool
    from langgraph.prebuilt import ToolNode
    from interlock import Client
    from interlock.adapters.langchain import guard_tools

    @tool
    def update_order_status(order_id: str, status: str) -> str: ...

    client = Client()
    node = ToolNode(guard_tools([update_order_status]))
    with client.run():
        graph.invoke({"messages": [...]})

Subgraphs: ``guard_subgraph(graph, role="researcher")`` gives a compiled LangGraph graph
whose every ``invoke``/``ainvoke`` runs in a child run (docs/governance.md#child-runs) of the
current run, made the current run while the subgraph runs (so the guarded tools inside it
decide their calls there: LangGraph runs nodes in copies of the caller's context) and ended
when the subgraph returns or raises:

    builder.add_node("research", guard_subgraph(research_graph, role="researcher"))

Nothing is imported from LangChain: the tool is duck-typed (``name``, ``_run``/``_arun``),
the graph too (``invoke``/``ainvoke``).
"""
from __future__ import annotations

import copy
import functools
import inspect
from typing import Any, Callable, Dict, Iterable, List, Optional

from .._async import AsyncRun
from .._client import current_run
from ..errors import Denied, InterlockError
from ._common import (denial_message, end_quietly, guard_async, log, resolve_run, role_name,
                      start_child)

__all__ = ["guard_subgraph", "guard_tool", "guard_tools", "role_name"]

# Keyword arguments LangChain passes to _run/_arun that are not the tool's arguments.
_FRAMEWORK_KWARGS = ("run_manager", "config", "callbacks")


def _tool_args(fn: Any, args: tuple, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
        named = dict(bound.arguments)
    except (TypeError, ValueError):
        named = {f"arg{i}": a for i, a in enumerate(args)}
        named.update(kwargs)
    out: Dict[str, Any] = {}
    for k, v in named.items():
        if k in _FRAMEWORK_KWARGS:
            continue
        p = None
        try:
            p = inspect.signature(fn).parameters.get(k)
        except (TypeError, ValueError):
            pass
        if p is not None and p.kind == inspect.Parameter.VAR_KEYWORD and isinstance(v, dict):
            out.update({kk: vv for kk, vv in v.items() if kk not in _FRAMEWORK_KWARGS})
        elif p is not None and p.kind == inspect.Parameter.VAR_POSITIONAL:
            if v:
                out[k] = list(v)
        else:
            out[k] = v
    return out


def _invocation(fn: Any, args: tuple, kwargs: Dict[str, Any],
                targs: Dict[str, Any]) -> Callable[..., Any]:
    """``fn`` called with the final decision's arguments: the framework's own call when
    they are the ones decided on, else the reviewer's edit by name, with the framework's
    keyword arguments (run_manager, config, callbacks) passed on as they came."""
    framework = {k: v for k, v in kwargs.items() if k in _FRAMEWORK_KWARGS}

    def call(**final: Any) -> Any:
        if final == targs:
            return fn(*args, **kwargs)
        return fn(**framework, **final)

    return call


def guard_tool(tool: Any, *, run: Any = None, name: Optional[str] = None,
               on_deny: str = "message", approval_timeout: Optional[float] = None) -> Any:
    """A copy of ``tool`` whose runs go through Interlock as tool ``name`` (default
    ``tool.name``)."""
    if on_deny not in ("message", "raise"):
        raise ValueError("on_deny must be 'message' or 'raise'")
    tool_name = name or getattr(tool, "name", None)
    orig_run = getattr(tool, "_run", None)
    orig_arun = getattr(tool, "_arun", None)
    if not isinstance(tool_name, str) or not tool_name or not callable(orig_run):
        raise TypeError("not a LangChain tool: needs a name and a _run method")

    def denied(e: Denied) -> Any:
        if on_deny == "raise":
            raise e
        return denial_message(e)

    @functools.wraps(orig_run)
    def _run(*args: Any, **kwargs: Any) -> Any:
        r = resolve_run(run, tool_name)
        if isinstance(r, AsyncRun):
            raise TypeError(f"{tool_name}: a synchronous tool run needs a Client run, "
                            "not an AsyncClient run")
        targs = _tool_args(orig_run, args, kwargs)
        try:
            return r.guard(tool_name, targs, _invocation(orig_run, args, kwargs, targs),
                           approval_timeout=approval_timeout)
        except Denied as e:
            return denied(e)

    guarded = copy.copy(tool)
    object.__setattr__(guarded, "_run", _run)
    if callable(orig_arun):

        @functools.wraps(orig_arun)
        async def _arun(*args: Any, **kwargs: Any) -> Any:
            r = resolve_run(run, tool_name)
            targs = _tool_args(orig_arun, args, kwargs)
            try:
                return await guard_async(r, tool_name, targs,
                                         _invocation(orig_arun, args, kwargs, targs),
                                         approval_timeout)
            except Denied as e:
                return denied(e)

        object.__setattr__(guarded, "_arun", _arun)
    object.__setattr__(guarded, "_interlock_guarded", True)
    return guarded


def guard_tools(tools: Iterable[Any], **options: Any) -> List[Any]:
    return [guard_tool(t, **options) for t in tools]


def guard_subgraph(graph: Any, *, role: Optional[str] = None, run: Any = None) -> Any:
    """A copy of a compiled graph whose ``invoke``/``ainvoke`` run in a child run of ``run``
    (default: the current run at call time, so nested guarded subgraphs nest their child
    runs) with the role ``role`` (default ``role_name(graph.name)``). The child is the
    current run while the subgraph runs and is ended when it returns or raises (a failure
    to end it is logged: the child ends with its parent anyway). A sync ``invoke`` needs a
    Client run."""
    orig_invoke = getattr(graph, "invoke", None)
    orig_ainvoke = getattr(graph, "ainvoke", None)
    if not callable(orig_invoke):
        raise TypeError("not a compiled graph: needs an invoke method")
    child_role = role if role is not None else role_name(getattr(graph, "name", ""))
    what = f"subgraph {getattr(graph, 'name', '')}".strip()

    @functools.wraps(orig_invoke)
    def invoke(*args: Any, **kwargs: Any) -> Any:
        parent = resolve_run(run, what)
        if isinstance(parent, AsyncRun):
            raise TypeError(f"{what}: a synchronous invoke needs a Client run, not an "
                            "AsyncClient run")
        child = parent.start_child(child_role)
        token = current_run.set(child)
        try:
            return orig_invoke(*args, **kwargs)
        finally:
            current_run.reset(token)
            try:
                child.end()
            except InterlockError as e:
                log.warning("ending child run %s failed: %s", child.run_id, e)

    guarded = copy.copy(graph)
    object.__setattr__(guarded, "invoke", invoke)
    if callable(orig_ainvoke):

        @functools.wraps(orig_ainvoke)
        async def ainvoke(*args: Any, **kwargs: Any) -> Any:
            child = await start_child(resolve_run(run, what), child_role)
            token = current_run.set(child)
            try:
                return await orig_ainvoke(*args, **kwargs)
            finally:
                current_run.reset(token)
                await end_quietly(child)

        object.__setattr__(guarded, "ainvoke", ainvoke)
    object.__setattr__(guarded, "_interlock_guarded", True)
    return guarded
