"""The guard and the approval wait, written once, as a sans-IO protocol.

``approval_wait`` and ``guard`` are generators that do no I/O: each yields the next step
(an effect: decide, poll, sleep, withdraw, run the tool, report) and is sent what it gave,
or thrown what it raised. ``Client`` drives them blocking (``drive`` below), ``AsyncClient``
and the async adapters drive them on asyncio (``_async.drive_async``); what the daemon is
asked, in which order, and what a timeout, an abort, a cancellation or a failing tool
leaves behind is therefore the same for both. Only ``now`` (a monotonic clock) and
``aborted`` are read directly; both are injected.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any, Callable, Dict, Generator, Optional, TypeVar, Union

from .decision import Decision
from .errors import ApprovalAborted, ApprovalTimeout, Denied, InterlockError

T = TypeVar("T")


# -- effects: what the protocol asks its driver to do -----------------------------------------
@dataclasses.dataclass(frozen=True)
class Decide:
    """POST the call (``Run.decide``) with this Idempotency-Key; send back the Decision."""
    tool: str
    args: Dict[str, Any]
    usage: Optional[Dict[str, Any]]
    tokens: Optional[int]
    cost_usd: Optional[float]
    key: str


@dataclasses.dataclass(frozen=True)
class WithdrawInFlight:
    """The caller stopped while ``decide`` was in flight: ask for that decision again (the
    key answers it, never a second decision) and withdraw the approval it opened, if any.
    Best effort: never raises."""
    decide: Decide


@dataclasses.dataclass(frozen=True)
class Pending:
    """Call ``on_pending(decision)`` (awaiting it when it returns an awaitable), if given."""
    decision: Decision


@dataclasses.dataclass(frozen=True)
class Poll:
    """One long poll (``GET /v1/calls/{id}?wait=``) for ``decision``'s call."""
    decision: Decision
    wait: int


@dataclasses.dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclasses.dataclass(frozen=True)
class Withdraw:
    """Withdraw ``decision``'s approval (best effort: never raises)."""
    decision: Decision
    reason: str


@dataclasses.dataclass(frozen=True)
class Claim:
    """One approval, one execution (``Client._claim_call``): raises Denied for a call
    another guard of the client already ran."""
    decision: Decision


@dataclasses.dataclass(frozen=True)
class Call:
    """Run the tool with these arguments; send back its value (awaited if awaitable)."""
    arguments: Dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Report:
    """Report the tool's result, quietly: a failed report is logged, not raised."""
    call_id: str
    ok: bool
    output: Any
    error: Optional[str]


Effect = Union[Decide, WithdrawInFlight, Pending, Poll, Sleep, Withdraw, Claim, Call, Report]


# -- the protocol ------------------------------------------------------------------------------
def final(d: Decision) -> Decision:
    """The decision if it allows; raises the matching Denied otherwise."""
    if d.allowed:
        return d
    if d.code == "APPROVAL_TIMEOUT":
        raise ApprovalTimeout(d)
    raise Denied(d)


def jsonable(value: Any) -> Any:
    """The output as JSON: as is when it serializes, else its str()."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return str(value)


def _stop_reason(e: BaseException) -> str:
    if isinstance(e, asyncio.CancelledError):
        return "the client cancelled the wait"
    return "the client stopped waiting"


def approval_wait(decision: Decision, *, limit: float, poll_wait: int,
                  aborted: Optional[Callable[[], bool]],
                  now: Callable[[], float]) -> Generator[Effect, Any, Decision]:
    """Waits for the final decision of an ``approval_required`` call by long polls.

    Returns the allow; raises ``Denied`` (``ApprovalTimeout`` for the daemon's timeout or
    after ``limit`` seconds here, ``ApprovalAborted`` once ``aborted()``). When this side
    gives up, or is stopped (an exception other than the client's own, e.g. a task
    cancelled or Ctrl-C), the approval is withdrawn first."""
    if not decision.approval_required:
        return final(decision)
    if not decision.call_id:
        raise Denied(decision, f"{decision.tool}: approval_required without a call_id")
    yield Pending(decision)
    deadline = now() + max(0.0, limit)
    last = decision
    while True:
        if aborted is not None and aborted():
            yield Withdraw(last, "the client aborted the wait")
            raise ApprovalAborted(last, f"{decision.tool}: wait for approval aborted")
        left = deadline - now()
        if left <= 0:
            yield Withdraw(last, "the client's approval deadline passed")
            raise ApprovalTimeout(last, f"{decision.tool}: no verdict within {limit:g}s "
                                        f"(approval {decision.approval_id} withdrawn)")
        try:
            if left < 1:
                yield Sleep(left)
                continue
            # Short polls under an abort flag, so that an abort is seen within about a second.
            wait = 1 if aborted is not None else min(poll_wait, max(1, int(left)))
            d = yield Poll(decision, wait)
        except InterlockError:
            raise
        except BaseException as e:  # nobody waits any more
            yield Withdraw(last, _stop_reason(e))
            raise
        if d.decision == "approval_required" or d.pending:
            last = d
            continue
        return final(d)


def guard(tool: str, args: Dict[str, Any], *, key: str, usage: Optional[Dict[str, Any]],
          tokens: Optional[int], cost_usd: Optional[float], report: bool, limit: float,
          poll_wait: int, aborted: Optional[Callable[[], bool]],
          now: Callable[[], float]) -> Generator[Effect, Any, Any]:
    """Decides; waits for a pending approval; runs the tool only when allowed, with the
    arguments of the final decision (a reviewer's edit, docs/approvals.md); reports its
    result; returns its value. Raises ``Denied`` otherwise (the tool does not run).

    ``key`` is the call's one Idempotency-Key: a caller stopped while the decision is in
    flight asks for that same decision again and withdraws the approval it may have
    opened, so a cancelled call leaves no pending approval behind."""
    decide = Decide(tool, args, usage, tokens, cost_usd, key)
    try:
        d = yield decide
    except InterlockError:
        raise
    except BaseException:
        yield WithdrawInFlight(decide)
        raise
    d = yield from approval_wait(d, limit=limit, poll_wait=poll_wait, aborted=aborted, now=now)
    yield Claim(d)
    try:
        out = yield Call(d.arguments_to_run(args))
    except BaseException as e:
        if report:
            yield Report(d.call_id, False, None, f"{type(e).__name__}: {e}")
        raise
    if report:
        yield Report(d.call_id, True, jsonable(out), None)
    return out


def drive(steps: Generator[Effect, Any, T], perform: Callable[[Effect], Any]) -> T:
    """Runs ``steps`` to its end, blocking: ``perform(effect)`` does each step; what it
    returns is sent back, what it raises is thrown in."""
    sent: Any = None
    error: Optional[BaseException] = None
    while True:
        try:
            effect = steps.throw(error) if error is not None else steps.send(sent)
        except StopIteration as stop:
            return stop.value
        sent, error = None, None
        try:
            sent = perform(effect)
        except BaseException as e:  # thrown into the protocol, which decides
            error = e
