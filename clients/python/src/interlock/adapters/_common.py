"""Guarding one call from async code with either a Run or an AsyncRun."""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Callable, Dict, Optional

from .._async import AsyncRun, drive_async
from .._client import Run, current_run
from ..errors import Denied, InterlockError, NoActiveRun

log = logging.getLogger("interlock")


def resolve_run(run: Any, tool: str) -> Any:
    r = run if run is not None else current_run.get()
    if r is None:
        raise NoActiveRun(f"{tool}: no current run (use `with client.run():`)")
    if not isinstance(r, (Run, AsyncRun)):
        raise NoActiveRun(f"{tool}: {type(r).__name__} is not an interlock Run")
    return r


def denial_message(e: Denied) -> str:
    """What the model reads instead of the tool's output."""
    d = e.decision
    text = f"Interlock refused the tool call {d.tool or ''}: {d.code}: {d.reason}".replace(
        "call :", "call:")
    if d.retry_after_s is not None:
        text += f" (retry after {d.retry_after_s:g}s)"
    return text + ". The tool did not run."


async def guard_async(run: Any, tool: str, args: Dict[str, Any],
                      call: Callable[..., Any],
                      approval_timeout: Optional[float] = None) -> Any:
    """decide → wait for approval → ``call(**arguments)`` (awaited when it returns an
    awaitable) → report; raises Denied. ``arguments`` are those of the final decision: the
    reviewer's edit when there is one, else ``args`` itself, so ``call`` can run the
    framework's original invocation when nothing was edited."""
    if isinstance(run, AsyncRun):
        return await run.guard(tool, args, call, approval_timeout=approval_timeout)
    # A blocking Run: the same guard protocol, driven on asyncio.
    steps = run.client._guard_steps(tool, args, None, None, None, True, approval_timeout, None)
    return await drive_async(steps, run, fn=call)


def role_name(name: Any) -> Optional[str]:
    """The role a handoff's receiving agent (or a subgraph) runs under in its child run: the
    name lowercased, every run of characters other than a-z 0-9 . _ - made one "-", leading
    and trailing "-" and "." dropped, at most 64 characters; ``None`` (no role: the agent's
    own policy) when nothing is left. So the policy ``AGENT/ROLE``
    (docs/governance.md#child-runs) of the agent "Billing Agent" is ``AGENT/billing-agent``."""
    r = re.sub(r"[^a-z0-9._-]+", "-", str(name if name is not None else "").lower())
    r = r.strip("-.")[:64].strip("-.")
    return r or None


async def start_child(parent: Any, role: Optional[str]) -> Any:
    """``parent.start_child(role)`` for a Run (in a thread) or an AsyncRun."""
    if isinstance(parent, AsyncRun):
        return await parent.start_child(role)
    return await asyncio.to_thread(parent.start_child, role)


async def end_quietly(run: Any) -> None:
    """Ends a child run; a failure is logged (the child still ends with its parent)."""
    try:
        if isinstance(run, AsyncRun):
            await run.end()
        else:
            await asyncio.to_thread(run.end)
    except InterlockError as e:
        log.warning("ending child run %s failed: %s", run.run_id, e)
