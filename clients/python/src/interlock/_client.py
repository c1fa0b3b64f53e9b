"""The blocking client: Client, Run, the current run and the guarded decorator."""
from __future__ import annotations

import contextvars
import dataclasses
import functools
import inspect
import logging
import os
import threading
import time
import urllib.parse
import uuid
from typing import Any, Callable, Dict, Generator, Iterator, Optional, TypeVar
from contextlib import contextmanager

from . import _protocol as protocol
from ._transport import Transport
from .decision import Decision
from .errors import Conflict, Denied, InterlockError, NoActiveRun

log = logging.getLogger("interlock")
T = TypeVar("T")

# The run guarded functions use: set by `with client.run()` / `async with client.run()`.
current_run: "contextvars.ContextVar[Any]" = contextvars.ContextVar("interlock_current_run",
                                                                   default=None)

DEFAULT_URL = "http://127.0.0.1:8181"
DEFAULT_APPROVAL_TIMEOUT = 900.0  # seconds a guard waits for a reviewer by default
DEFAULT_POLL_WAIT = 30  # seconds per long poll (the daemon caps it at max_wait_seconds)


def _usage(usage: Optional[Dict[str, Any]], tokens: Optional[int],
           cost_usd: Optional[float]) -> Optional[Dict[str, Any]]:
    out = dict(usage or {})
    if tokens is not None:
        out["tokens"] = tokens
    if cost_usd is not None:
        out["cost_usd"] = cost_usd
    return out or None


class Client:
    """A client for one agent token.

    ``url`` and ``token`` default to ``$INTERLOCK_URL`` (else http://127.0.0.1:8181) and
    ``$INTERLOCK_TOKEN``. ``timeout`` bounds every request (seconds); network failures and
    503 answers are retried ``retries`` times with exponential backoff, then raise
    ``Unavailable``.
    """

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *,
                 timeout: float = 10.0, retries: int = 3, backoff: float = 0.2,
                 max_backoff: float = 2.0, ca_file: Optional[str] = None,
                 approval_timeout: float = DEFAULT_APPROVAL_TIMEOUT,
                 poll_wait: int = DEFAULT_POLL_WAIT):
        url = url or os.environ.get("INTERLOCK_URL") or DEFAULT_URL
        token = token if token is not None else os.environ.get("INTERLOCK_TOKEN", "")
        self._transport = Transport(url, token, timeout, retries, backoff, max_backoff, ca_file)
        self.approval_timeout = approval_timeout
        self.poll_wait = max(1, int(poll_wait))
        # The calls a guard of this client ran (see _claim_call).
        self._ran_calls: set = set()
        self._ran_lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._transport.base_url

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(url={self.url!r})"

    # -- runs ---------------------------------------------------------------------------
    def start_run(self) -> "Run":
        """POST /v1/runs. Prefer ``with client.run() as run``, which also ends it."""
        return self._start({})

    def _start(self, request: Dict[str, Any]) -> "Run":
        """POST /v1/runs with ``request`` (``{}`` or a child run's parent and role)."""
        _, body = self._transport.request("POST", "/v1/runs", request,
                                          idempotency_key=str(uuid.uuid4()))
        run_id = body.get("run_id") if isinstance(body, dict) else None
        if not isinstance(run_id, str) or not run_id:
            raise InterlockError("POST /v1/runs: the answer has no run_id")
        parent = body.get("parent_run_id")
        depth = body.get("depth")
        role = body.get("role")
        return Run(self, run_id, body.get("agent_id", ""),
                   parent_run_id=parent if isinstance(parent, str) and parent else None,
                   role=role if isinstance(role, str) and role else None,
                   depth=depth if isinstance(depth, int) else 0)

    def attach_run(self, run_id: str) -> "Run":
        """A Run object for a run started elsewhere (same agent token)."""
        return Run(self, run_id, "")

    @contextmanager
    def run(self, run_id: Optional[str] = None, *, end: bool = True) -> Iterator["Run"]:
        """Starts a run (or attaches to ``run_id``), makes it the current run for
        ``@client.guarded`` functions, and ends it on exit (``end=False`` to keep it)."""
        r = self.attach_run(run_id) if run_id else self.start_run()
        token = current_run.set(r)
        try:
            yield r
        except BaseException:
            current_run.reset(token)
            if end:
                try:
                    r.end()
                except InterlockError as e:  # do not hide the original exception
                    log.warning("ending run %s failed: %s", r.run_id, e)
            raise
        current_run.reset(token)
        if end:
            r.end()

    def get_call(self, call_id: str, wait: int = 0) -> Decision:
        """GET /v1/calls/{call_id}[?wait=]: an allow for another call is a deny."""
        return self._get_call(call_id, wait)

    def _get_call(self, call_id: str, wait: int, tool: str = "", run_id: str = "") -> Decision:
        path = "/v1/calls/" + urllib.parse.quote(call_id, safe="")
        if wait > 0:
            path += f"?wait={int(wait)}"
        _, body = self._transport.request("GET", path,
                                          timeout=self._transport.timeout + max(0, wait))
        return Decision.from_json(body, tool, run_id=run_id, call_id=call_id)

    def _claim_call(self, decision: Decision) -> None:
        """One approval, one execution, within this client: the daemon answers a call
        identical to one still waiting for its approval with that call (``existing_call``),
        and every read of a granted call answers its allow, so two identical calls made at
        once (a model's parallel tool calls) would both run on one approval. The first guard
        to reach the allow runs the call; any other raises ``Denied``. (Another process
        holding the same call is not seen here.)"""
        with self._ran_lock:
            if decision.call_id in self._ran_calls:
                raise Denied(dataclasses.replace(
                    decision, decision="deny", code="APPROVAL_DENIED",
                    reason=f"call {decision.call_id} was already run by another guard: one "
                           "approval, one execution", arguments=None))
            self._ran_calls.add(decision.call_id)

    # -- the guard protocol (interlock._protocol), for Run and AsyncRun alike -------------
    def _wait_steps(self, decision: Decision, timeout: Optional[float],
                    abort: Any) -> Generator[protocol.Effect, Any, Decision]:
        """``abort``: anything with ``is_set()`` (a threading.Event or an asyncio.Event)."""
        return protocol.approval_wait(
            decision, limit=self.approval_timeout if timeout is None else timeout,
            poll_wait=self.poll_wait, aborted=abort.is_set if abort is not None else None,
            now=time.monotonic)

    def _guard_steps(self, tool: str, args: Optional[Dict[str, Any]],
                     usage: Optional[Dict[str, Any]], tokens: Optional[int],
                     cost_usd: Optional[float], report: bool, approval_timeout: Optional[float],
                     abort: Any) -> Generator[protocol.Effect, Any, Any]:
        return protocol.guard(
            tool, args if args is not None else {}, key=str(uuid.uuid4()), usage=usage,
            tokens=tokens, cost_usd=cost_usd, report=report,
            limit=self.approval_timeout if approval_timeout is None else approval_timeout,
            poll_wait=self.poll_wait, aborted=abort.is_set if abort is not None else None,
            now=time.monotonic)

    # -- the decorator --------------------------------------------------------------------
    def guarded(self, tool: str, **guard_options: Any) -> Callable[[Callable[..., T]],
                                                                   Callable[..., T]]:
        """Decorator: every call of the function goes through ``run.guard(tool, args, fn)``
        on the current run; its arguments (bound by name, defaults included) are the tool's
        args. Outside a run it raises ``NoActiveRun`` and the function does not run."""

        def wrap(fn: Callable[..., T]) -> Callable[..., T]:
            sig = inspect.signature(fn)

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> T:
                run = current_run.get()
                if run is None or not isinstance(run, Run):
                    raise NoActiveRun(f"{tool}: no current run (use `with client.run():`)")
                bound = sig.bind(*args, **kwargs)
                bound.apply_defaults()
                targs = tool_args(sig, bound)
                # Unedited: the call as made; edited by a reviewer: with the edited arguments.
                return run.guard(tool, targs,
                                 lambda **kw: fn(*bound.args, **bound.kwargs)
                                 if kw == targs else fn(**kw), **guard_options)

            return wrapper

        return wrap


def tool_args(sig: inspect.Signature, bound: inspect.BoundArguments) -> Dict[str, Any]:
    """The tool's args from a decorated function's bound arguments: by name, defaults
    included, ``self``/``cls`` left out, ``**kwargs`` merged in."""
    out: Dict[str, Any] = {}
    params = list(sig.parameters.values())
    for i, (name, value) in enumerate(bound.arguments.items()):
        p = sig.parameters[name]
        if i == 0 and name in ("self", "cls") and params and params[0].name == name:
            continue
        if p.kind == inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        elif p.kind == inspect.Parameter.VAR_POSITIONAL:
            if value:
                out[name] = list(value)
        else:
            out[name] = value
    return out


def _child_request(run_id: str, role: Optional[str]) -> Dict[str, Any]:
    body: Dict[str, Any] = {"parent_run_id": run_id}
    if role is not None:
        if not isinstance(role, str):
            raise TypeError("role must be a string")
        body["role"] = role
    return body


class Run:
    """One run of the agent: decide, guard, report, end.

    A child run (``start_child``) carries ``parent_run_id``, ``role`` and ``depth``
    (docs/governance.md#child-runs); a root run has ``None``, ``None`` and 0."""

    def __init__(self, client: Client, run_id: str, agent_id: str = "", *,
                 parent_run_id: Optional[str] = None, role: Optional[str] = None,
                 depth: int = 0):
        self.client = client
        self.run_id = run_id
        self.agent_id = agent_id
        self.parent_run_id = parent_run_id
        self.role = role
        self.depth = depth

    def __repr__(self) -> str:
        extra = f", parent_run_id={self.parent_run_id!r}" if self.parent_run_id else ""
        return f"Run(run_id={self.run_id!r}, agent_id={self.agent_id!r}{extra})"

    # -- child runs (docs/governance.md#child-runs) -----------------------------------------
    def start_child(self, role: Optional[str] = None) -> "Run":
        """POST /v1/runs ``{"parent_run_id": this run, "role": role}``: a child run for a
        handoff or a sub-agent. Its calls are decided under the policy ``AGENT/ROLE`` where
        one is loaded (else the agent's) and under this run's too, and spend this run's
        budgets. Prefer ``with run.child(role) as child``, which also ends it. Raises
        ``InvalidRequest`` when the daemon refuses (this run ended or killed, too deep, too
        many live children) and ``PermissionDenied`` for another agent's run."""
        return self.client._start(_child_request(self.run_id, role))

    @contextmanager
    def child(self, role: Optional[str] = None) -> Iterator["Run"]:
        """Starts a child run, makes it the current run for ``@client.guarded`` functions
        and the adapters, and ends it on exit (the parent becomes current again)."""
        c = self.start_child(role)
        token = current_run.set(c)
        try:
            yield c
        except BaseException:
            current_run.reset(token)
            try:
                c.end()
            except InterlockError as e:  # do not hide the original exception
                log.warning("ending child run %s failed: %s", c.run_id, e)
            raise
        current_run.reset(token)
        c.end()

    @property
    def _t(self) -> Transport:
        return self.client._transport

    def _path(self, tail: str) -> str:
        return "/v1/runs/" + urllib.parse.quote(self.run_id, safe="") + tail

    def decide(self, tool: str, args: Optional[Dict[str, Any]] = None, *,
               usage: Optional[Dict[str, Any]] = None, tokens: Optional[int] = None,
               cost_usd: Optional[float] = None, approval_id: Optional[str] = None,
               traceparent: Optional[str] = None, idempotency_key: Optional[str] = None
               ) -> Decision:
        """POST /v1/runs/{run_id}/calls: the decision (a deny is returned, not raised)."""
        body: Dict[str, Any] = {"tool": tool, "args": args if args is not None else {}}
        u = _usage(usage, tokens, cost_usd)
        if u:
            body["usage"] = u
        if approval_id:
            body["approval_id"] = approval_id
        _, resp = self._t.request(
            "POST", self._path("/calls"), body,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
            extra_headers={"traceparent": traceparent} if traceparent else None,
            decision_400=True)
        return Decision.from_json(resp, tool, run_id=self.run_id)

    def _poll(self, decision: Decision, wait: int) -> Decision:
        """One long poll for the verdict of ``decision``'s call (an allow must be for that
        call, tool and run)."""
        return self.client._get_call(decision.call_id, wait, decision.tool, self.run_id)

    def wait_for_approval(self, decision: Decision, *, timeout: Optional[float] = None,
                          abort: Optional[threading.Event] = None,
                          on_pending: Optional[Callable[[Decision], None]] = None) -> Decision:
        """Waits for the final decision of an ``approval_required`` call by long polls.

        Returns the allow; raises ``Denied`` (``ApprovalTimeout`` for a timeout, either
        the daemon's or ``timeout`` seconds here; ``ApprovalAborted`` when ``abort`` is
        set). When this side gives up, the approval is withdrawn. ``on_pending(decision)``
        is called once before waiting (e.g. to show ``decision.approval_url``)."""
        steps = self.client._wait_steps(decision, timeout, abort)
        return protocol.drive(steps, functools.partial(self._perform, fn=None,
                                                       on_pending=on_pending))

    def _withdraw(self, decision: Decision, reason: str) -> None:
        if not decision.approval_id:
            return
        try:
            self._t.request("POST", "/v1/approvals/" +
                            urllib.parse.quote(decision.approval_id, safe="") + "/withdraw",
                            {"reason": reason}, idempotency_key=str(uuid.uuid4()))
        except Conflict:
            pass  # decided meanwhile: the call is not run either way
        except InterlockError as e:
            log.warning("withdrawing approval %s failed: %s", decision.approval_id, e)

    def guard(self, tool: str, args: Optional[Dict[str, Any]], fn: Callable[..., T], *,
              usage: Optional[Dict[str, Any]] = None, tokens: Optional[int] = None,
              cost_usd: Optional[float] = None, approval_timeout: Optional[float] = None,
              abort: Optional[threading.Event] = None, report: bool = True,
              on_pending: Optional[Callable[[Decision], None]] = None) -> T:
        """Decides; waits for a pending approval; runs ``fn(**args)`` only when allowed;
        reports its result (ok/error, output) and returns its value. Raises ``Denied``
        (with the decision) otherwise; ``Unavailable`` when the daemon cannot be reached
        (the function does not run then either)."""
        steps = self.client._guard_steps(tool, args, usage, tokens, cost_usd, report,
                                         approval_timeout, abort)
        return protocol.drive(steps, functools.partial(self._perform, fn=fn,
                                                       on_pending=on_pending))

    def _perform(self, effect: protocol.Effect, *, fn: Optional[Callable[..., Any]],
                 on_pending: Optional[Callable[[Decision], Any]]) -> Any:
        """One step of the guard protocol (interlock._protocol), blocking."""
        if isinstance(effect, protocol.Decide):
            return self.decide(effect.tool, effect.args, usage=effect.usage,
                               tokens=effect.tokens, cost_usd=effect.cost_usd,
                               idempotency_key=effect.key)
        if isinstance(effect, protocol.Poll):
            return self._poll(effect.decision, effect.wait)
        if isinstance(effect, protocol.Sleep):
            return time.sleep(effect.seconds)
        if isinstance(effect, protocol.Withdraw):
            return self._withdraw(effect.decision, effect.reason)
        if isinstance(effect, protocol.WithdrawInFlight):
            return self._withdraw_in_flight(effect.decide)
        if isinstance(effect, protocol.Pending):
            return on_pending(effect.decision) if on_pending is not None else None
        if isinstance(effect, protocol.Claim):
            return self.client._claim_call(effect.decision)
        if isinstance(effect, protocol.Call):
            assert fn is not None
            return fn(**effect.arguments)
        if isinstance(effect, protocol.Report):
            return self._report_quietly(effect.call_id, effect.ok, effect.output, effect.error)
        raise TypeError(f"unknown guard step {effect!r}")

    def _withdraw_in_flight(self, decide: protocol.Decide) -> None:
        try:
            d = self.decide(decide.tool, decide.args, usage=decide.usage, tokens=decide.tokens,
                            cost_usd=decide.cost_usd, idempotency_key=decide.key)
            if d.approval_required:
                self._withdraw(d, "the client cancelled the call")
        except Exception as e:  # best effort: the approval still times out on the daemon
            log.warning("withdrawing the approval of a cancelled call failed: %s", e)

    def _report_quietly(self, call_id: str, ok: bool, output: Any, error: Optional[str]) -> None:
        # The tool already ran: a failed report must not turn its value into an exception.
        try:
            self.report_result(call_id, ok=ok, output=output, error=error)
        except InterlockError as e:
            log.warning("reporting the result of %s failed: %s", call_id, e)

    def report_result(self, call_id: str, *, ok: bool, output: Any = None,
                      error: Optional[str] = None, usage: Optional[Dict[str, Any]] = None,
                      tokens: Optional[int] = None, cost_usd: Optional[float] = None) -> None:
        """POST /v1/calls/{call_id}/result."""
        body: Dict[str, Any] = {"ok": bool(ok)}
        if output is not None:
            body["output"] = output
        if error is not None:
            body["error"] = error
        u = _usage(usage, tokens, cost_usd)
        if u:
            body["usage"] = u
        self._t.request("POST", "/v1/calls/" + urllib.parse.quote(call_id, safe="") + "/result",
                        body, idempotency_key=str(uuid.uuid4()))

    def report_usage(self, tokens: Optional[int] = None, cost_usd: Optional[float] = None,
                     **usage: Any) -> None:
        """POST /v1/runs/{run_id}/usage: model usage not tied to a tool call."""
        self._t.request("POST", self._path("/usage"), _usage(usage, tokens, cost_usd) or {},
                        idempotency_key=str(uuid.uuid4()))

    def end(self) -> None:
        """POST /v1/runs/{run_id}/end."""
        self._t.request("POST", self._path("/end"), {}, idempotency_key=str(uuid.uuid4()))

    def state(self) -> Dict[str, Any]:
        """GET /v1/runs/{run_id}."""
        _, body = self._t.request("GET", self._path(""))
        return body if isinstance(body, dict) else {}

