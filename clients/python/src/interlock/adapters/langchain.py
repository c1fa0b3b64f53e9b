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

Nothing is imported from LangChain: the tool is duck-typed (``name``, ``_run``/``_arun``).
"""
from __future__ import annotations

import copy
import functools
import inspect
from typing import Any, Callable, Dict, Iterable, List, Optional

from .._async import AsyncRun
from ..errors import Denied
from ._common import denial_message, guard_async, resolve_run

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
