"""Guarding one call from async code with either a Run or an AsyncRun."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from .._async import AsyncRun, drive_async
from .._client import Run, current_run
from ..errors import Denied, NoActiveRun


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
