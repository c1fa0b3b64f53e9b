"""AsyncClient: the same surface for asyncio. The blocking transport runs in the default
thread executor (asyncio.to_thread), so the library stays standard-library only; waits
for approvals are cancellable between polls (task.cancel() or an asyncio.Event)."""
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Optional, TypeVar, Union

from ._client import Client, Run, _final, _jsonable, current_run, tool_args
from .decision import Decision
from .errors import ApprovalAborted, ApprovalTimeout, Denied, InterlockError, NoActiveRun

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

    def __repr__(self) -> str:
        return f"AsyncRun(run_id={self.run_id!r}, agent_id={self.agent_id!r})"

    async def decide(self, tool: str, args: Optional[Dict[str, Any]] = None,
                     **kw: Any) -> Decision:
        return await asyncio.to_thread(functools.partial(self._run.decide, tool, args, **kw))

    async def wait_for_approval(self, decision: Decision, *, timeout: Optional[float] = None,
                                abort: Optional[asyncio.Event] = None,
                                on_pending: Optional[Callable[[Decision], Any]] = None
                                ) -> Decision:
        if not decision.approval_required:
            return _final(decision)
        if not decision.call_id:
            raise Denied(decision, f"{decision.tool}: approval_required without a call_id")
        if on_pending is not None:
            res = on_pending(decision)
            if inspect.isawaitable(res):
                await res
        sync = self.client._sync
        limit = sync.approval_timeout if timeout is None else timeout
        deadline = time.monotonic() + max(0.0, limit)
        last = decision
        try:
            while True:
                if abort is not None and abort.is_set():
                    await self._withdraw(last, "the client aborted the wait")
                    raise ApprovalAborted(last, f"{decision.tool}: wait for approval aborted")
                left = deadline - time.monotonic()
                if left <= 0:
                    await self._withdraw(last, "the client's approval deadline passed")
                    raise ApprovalTimeout(last, f"{decision.tool}: no verdict within "
                                                f"{limit:g}s (approval {decision.approval_id} "
                                                f"withdrawn)")
                if left < 1:
                    await asyncio.sleep(left)
                    continue
                wait = 1 if abort is not None else min(sync.poll_wait, max(1, int(left)))
                d = await asyncio.to_thread(self._run._poll, decision, wait)
                if d.decision == "approval_required" or d.pending:
                    last = d
                    continue
                return _final(d)
        except asyncio.CancelledError:
            # The task was cancelled: nobody waits any more, so withdraw the approval.
            await asyncio.shield(self._withdraw(last, "the client cancelled the wait"))
            raise

    def _withdraw_in_flight(self, tool: str, args: Dict[str, Any],
                            usage: Optional[Dict[str, Any]], tokens: Optional[int],
                            cost_usd: Optional[float], key: str) -> None:
        try:
            d = self._run.decide(tool, args, usage=usage, tokens=tokens, cost_usd=cost_usd,
                                 idempotency_key=key)
            if d.approval_required:
                self._run._withdraw(d, "the client cancelled the call")
        except Exception as e:  # best effort: the approval still times out on the daemon
            log.warning("withdrawing the approval of a cancelled call failed: %s", e)

    async def _withdraw(self, decision: Decision, reason: str) -> None:
        await asyncio.to_thread(self._run._withdraw, decision, reason)

    async def guard(self, tool: str, args: Optional[Dict[str, Any]],
                    fn: Callable[..., Union[T, Awaitable[T]]], *,
                    usage: Optional[Dict[str, Any]] = None, tokens: Optional[int] = None,
                    cost_usd: Optional[float] = None, approval_timeout: Optional[float] = None,
                    abort: Optional[asyncio.Event] = None, report: bool = True,
                    on_pending: Optional[Callable[[Decision], Any]] = None) -> T:
        """As ``Run.guard``; ``fn`` may be a coroutine function."""
        args = args if args is not None else {}
        # One key for the call: a task cancelled while the decision is in flight (its
        # thread finishes the request, the answer is lost) asks for that same decision
        # again, answered from the key and never decided twice, and withdraws the approval
        # it may have opened: a cancelled call leaves no pending approval behind.
        key = str(uuid.uuid4())
        try:
            d = await self.decide(tool, args, usage=usage, tokens=tokens, cost_usd=cost_usd,
                                  idempotency_key=key)
        except asyncio.CancelledError:
            await asyncio.to_thread(self._withdraw_in_flight, tool, args, usage, tokens,
                                    cost_usd, key)
            raise
        d = await self.wait_for_approval(d, timeout=approval_timeout, abort=abort,
                                         on_pending=on_pending)
        self.client._sync._claim_call(d)
        try:
            # A reviewer's edit (docs/approvals.md): the tool runs with the edited arguments.
            out = fn(**d.arguments_to_run(args))
            if inspect.isawaitable(out):
                out = await out
        except BaseException as e:
            if report:
                await self._report_quietly(d.call_id, False, None, f"{type(e).__name__}: {e}")
            raise
        if report:
            await self._report_quietly(d.call_id, True, _jsonable(out), None)
        return out  # type: ignore[return-value]

    async def _report_quietly(self, call_id: str, ok: bool, output: Any,
                              error: Optional[str]) -> None:
        await asyncio.to_thread(self._run._report_quietly, call_id, ok, output, error)

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
