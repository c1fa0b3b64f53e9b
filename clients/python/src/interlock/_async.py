"""AsyncClient: the same surface for asyncio. The blocking transport runs in the default
thread executor (asyncio.to_thread), so the library stays standard-library only; waits
for approvals are cancellable between polls (task.cancel() or an asyncio.Event). The guard
and the approval wait are the blocking client's own protocol (interlock._protocol), driven
here on asyncio."""
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from contextlib import asynccontextmanager
from typing import (Any, AsyncIterator, Awaitable, Callable, Dict, Generator, Optional, TypeVar,
                    Union)

from . import _protocol as protocol
from ._client import Client, Run, current_run, tool_args
from .decision import Decision
from .errors import InterlockError, NoActiveRun

log = logging.getLogger("interlock")
T = TypeVar("T")


class AsyncClient:
    """``Client`` for asyncio: same arguments, coroutine methods."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, **options: Any):
        self._sync = Client(url, token, **options)

    @property
    def url(self) -> str:
        return self._sync.url

    def __repr__(self) -> str:
        return f"AsyncClient(url={self.url!r})"

    async def start_run(self) -> "AsyncRun":
        return AsyncRun(self, await asyncio.to_thread(self._sync.start_run))

    def attach_run(self, run_id: str) -> "AsyncRun":
        return AsyncRun(self, self._sync.attach_run(run_id))

    @asynccontextmanager
    async def run(self, run_id: Optional[str] = None, *,
                  end: bool = True) -> AsyncIterator["AsyncRun"]:
        r = self.attach_run(run_id) if run_id else await self.start_run()
        token = current_run.set(r)
        try:
            yield r
        except BaseException:
            current_run.reset(token)
            if end:
                try:
                    await r.end()
                except InterlockError as e:
                    log.warning("ending run %s failed: %s", r.run_id, e)
            raise
        current_run.reset(token)
        if end:
            await r.end()

    async def get_call(self, call_id: str, wait: int = 0) -> Decision:
        return await asyncio.to_thread(self._sync.get_call, call_id, wait)

    def guarded(self, tool: str, **guard_options: Any) -> Callable[[Callable[..., Any]],
                                                                   Callable[..., Awaitable[Any]]]:
        """As ``Client.guarded``; the wrapped function (sync or async) becomes a coroutine
        function using the current ``AsyncRun``."""

        def wrap(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
            sig = inspect.signature(fn)

            @functools.wraps(fn)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                run = current_run.get()
                if run is None or not isinstance(run, AsyncRun):
                    raise NoActiveRun(f"{tool}: no current run (use `async with client.run():`)")
                bound = sig.bind(*args, **kwargs)
                bound.apply_defaults()
                targs = tool_args(sig, bound)
                # Unedited: the call as made; edited by a reviewer: with the edited arguments.
                return await run.guard(tool, targs,
                                       lambda **kw: fn(*bound.args, **bound.kwargs)
                                       if kw == targs else fn(**kw), **guard_options)

            return wrapper

        return wrap


class AsyncRun:
    def __init__(self, client: AsyncClient, run: Run):
        self.client = client
        self._run = run

    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def agent_id(self) -> str:
        return self._run.agent_id

    @property
    def parent_run_id(self) -> Optional[str]:
        return self._run.parent_run_id

    @property
    def role(self) -> Optional[str]:
        return self._run.role

    @property
    def depth(self) -> int:
        return self._run.depth

    def __repr__(self) -> str:
        extra = f", parent_run_id={self.parent_run_id!r}" if self.parent_run_id else ""
        return f"AsyncRun(run_id={self.run_id!r}, agent_id={self.agent_id!r}{extra})"

    async def start_child(self, role: Optional[str] = None) -> "AsyncRun":
        """As ``Run.start_child``."""
        return AsyncRun(self.client, await asyncio.to_thread(self._run.start_child, role))

    @asynccontextmanager
    async def child(self, role: Optional[str] = None) -> AsyncIterator["AsyncRun"]:
        """As ``Run.child``: ``async with run.child("reviewer") as child``."""
        c = await self.start_child(role)
        token = current_run.set(c)
        try:
            yield c
        except BaseException:
            current_run.reset(token)
            try:
                await asyncio.shield(c.end())
            except InterlockError as e:
                log.warning("ending child run %s failed: %s", c.run_id, e)
            raise
        current_run.reset(token)
        await c.end()

    async def decide(self, tool: str, args: Optional[Dict[str, Any]] = None,
                     **kw: Any) -> Decision:
        return await asyncio.to_thread(functools.partial(self._run.decide, tool, args, **kw))

    async def wait_for_approval(self, decision: Decision, *, timeout: Optional[float] = None,
                                abort: Optional[asyncio.Event] = None,
                                on_pending: Optional[Callable[[Decision], Any]] = None
                                ) -> Decision:
        steps = self.client._sync._wait_steps(decision, timeout, abort)
        return await drive_async(steps, self._run, on_pending=on_pending)

    async def guard(self, tool: str, args: Optional[Dict[str, Any]],
                    fn: Callable[..., Union[T, Awaitable[T]]], *,
                    usage: Optional[Dict[str, Any]] = None, tokens: Optional[int] = None,
                    cost_usd: Optional[float] = None, approval_timeout: Optional[float] = None,
                    abort: Optional[asyncio.Event] = None, report: bool = True,
                    on_pending: Optional[Callable[[Decision], Any]] = None) -> T:
        """As ``Run.guard``; ``fn`` may be a coroutine function."""
        steps = self.client._sync._guard_steps(tool, args, usage, tokens, cost_usd, report,
                                               approval_timeout, abort)
        return await drive_async(steps, self._run, fn=fn, on_pending=on_pending)

    async def report_result(self, call_id: str, **kw: Any) -> None:
        await asyncio.to_thread(functools.partial(self._run.report_result, call_id, **kw))

    async def report_usage(self, tokens: Optional[int] = None, cost_usd: Optional[float] = None,
                           **usage: Any) -> None:
        await asyncio.to_thread(functools.partial(self._run.report_usage, tokens, cost_usd,
                                                  **usage))

    async def end(self) -> None:
        await asyncio.to_thread(self._run.end)

    async def state(self) -> Dict[str, Any]:
        return await asyncio.to_thread(self._run.state)


async def drive_async(steps: Generator[protocol.Effect, Any, T], run: Run, *,
                      fn: Optional[Callable[..., Any]] = None,
                      on_pending: Optional[Callable[[Decision], Any]] = None) -> T:
    """Runs the guard protocol (interlock._protocol) on asyncio for ``run``: the requests in
    the default thread executor, ``fn`` and ``on_pending`` awaited when they return an
    awaitable. A withdraw is shielded: a cancelled task still withdraws what it leaves."""
    sent: Any = None
    error: Optional[BaseException] = None
    while True:
        try:
            effect = steps.throw(error) if error is not None else steps.send(sent)
        except StopIteration as stop:
            return stop.value
        sent, error = None, None
        try:
            sent = await _perform(effect, run, fn, on_pending)
        except BaseException as e:  # thrown into the protocol, which decides
            error = e


async def _perform(effect: protocol.Effect, run: Run, fn: Optional[Callable[..., Any]],
                   on_pending: Optional[Callable[[Decision], Any]]) -> Any:
    if isinstance(effect, protocol.Decide):
        return await asyncio.to_thread(functools.partial(
            run.decide, effect.tool, effect.args, usage=effect.usage, tokens=effect.tokens,
            cost_usd=effect.cost_usd, idempotency_key=effect.key))
    if isinstance(effect, protocol.Poll):
        return await asyncio.to_thread(run._poll, effect.decision, effect.wait)
    if isinstance(effect, protocol.Sleep):
        return await asyncio.sleep(effect.seconds)
    if isinstance(effect, protocol.Withdraw):
        return await asyncio.shield(asyncio.to_thread(run._withdraw, effect.decision,
                                                      effect.reason))
    if isinstance(effect, protocol.WithdrawInFlight):
        return await asyncio.shield(asyncio.to_thread(run._withdraw_in_flight, effect.decide))
    if isinstance(effect, protocol.Pending):
        res = on_pending(effect.decision) if on_pending is not None else None
        return await res if inspect.isawaitable(res) else res
    if isinstance(effect, protocol.Claim):
        return run.client._claim_call(effect.decision)
    if isinstance(effect, protocol.Call):
        assert fn is not None
        out = fn(**effect.arguments)
        return await out if inspect.isawaitable(out) else out
    if isinstance(effect, protocol.Report):
        return await asyncio.to_thread(run._report_quietly, effect.call_id, effect.ok,
                                       effect.output, effect.error)
    raise TypeError(f"unknown guard step {effect!r}")
