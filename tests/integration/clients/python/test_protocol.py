"""The guard protocol (clients/python/src/interlock/_protocol.py) without a daemon.

The blocking and the asyncio client drive the same sans-IO generators; these tests drive
them by hand with a fake clock and scripted answers, and check that both drivers ask for
the same steps. Run by ctest as python_client.Protocol; by hand:
  PYTHONPATH=clients/python/src python3 -m unittest -v test_protocol
"""
from __future__ import annotations

import asyncio
import unittest
from typing import Any, List

from interlock import ApprovalAborted, ApprovalTimeout, Denied
from interlock import _protocol as protocol
from interlock._async import drive_async
from interlock.decision import Decision

PENDING = Decision("approval_required", "APPROVAL_REQUIRED", tool="send", call_id="c1",
                   approval_id="a1")
ALLOW = Decision("allow", "ALLOWED", tool="send", call_id="c1")
EDITED = Decision("allow", "ALLOWED", tool="send", call_id="c1", arguments={"to": "safe"})
DENY = Decision("deny", "APPROVAL_DENIED", tool="send", call_id="c1")


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def wait_steps(clock: Clock, limit: float = 60, aborted=None, decision=PENDING):
    return protocol.approval_wait(decision, limit=limit, poll_wait=30, aborted=aborted,
                                  now=clock)


def guard_steps(clock: Clock, report: bool = True, limit: float = 60):
    return protocol.guard("send", {"to": "x"}, key="k1", usage=None, tokens=None,
                          cost_usd=None, report=report, limit=limit, poll_wait=30,
                          aborted=None, now=clock)


class FakeRun:
    """What the drivers call on a blocking Run, recording each step."""

    def __init__(self, polls: List[Any], clock: Clock) -> None:
        self.polls = polls
        self.clock = clock
        self.log: List[Any] = []
        self.client = self

    def decide(self, tool, args, **kw):
        self.log.append(("decide", tool, kw["idempotency_key"]))
        return PENDING

    def _poll(self, decision, wait):
        self.log.append(("poll", wait))
        self.clock.t += wait
        answer = self.polls.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _withdraw(self, decision, reason):
        self.log.append(("withdraw", reason))

    def _withdraw_in_flight(self, decide):
        self.log.append(("withdraw_in_flight", decide.key))

    def _claim_call(self, decision):
        self.log.append(("claim", decision.call_id))

    def _report_quietly(self, call_id, ok, output, error):
        self.log.append(("report", ok, output, error))


def perform_sync(run: FakeRun, fn=None):
    """The blocking driver's mapping (Run._perform) over a FakeRun."""
    from interlock._client import Run
    return lambda effect: Run._perform(run, effect, fn=fn, on_pending=None)  # type: ignore


class Protocol(unittest.TestCase):
    # Tests that a pending call is polled until its verdict and the allow returned.
    def test_wait_polls_until_the_verdict(self):
        clock = Clock()
        steps = wait_steps(clock)
        self.assertIsInstance(next(steps), protocol.Pending)
        poll = steps.send(None)
        self.assertEqual(poll, protocol.Poll(PENDING, 30))
        clock.t += 30
        self.assertIsInstance(steps.send(PENDING), protocol.Poll)
        with self.assertRaises(StopIteration) as stop:
            steps.send(ALLOW)
        self.assertEqual(stop.exception.value, ALLOW)

    # Tests that the client's own deadline withdraws the approval, then raises ApprovalTimeout.
    def test_deadline_withdraws_then_times_out(self):
        clock = Clock()
        steps = wait_steps(clock, limit=5)
        next(steps)
        self.assertEqual(steps.send(None), protocol.Poll(PENDING, 5))
        clock.t += 5
        step = steps.send(PENDING)
        self.assertEqual(step, protocol.Withdraw(PENDING, "the client's approval deadline passed"))
        with self.assertRaises(ApprovalTimeout):
            steps.send(None)

    # Tests that an abort withdraws and raises ApprovalAborted, and polls stay short under it.
    def test_abort_withdraws_and_polls_are_short(self):
        clock = Clock()
        flag = [False]
        steps = wait_steps(clock, aborted=lambda: flag[0])
        next(steps)
        self.assertEqual(steps.send(None), protocol.Poll(PENDING, 1))
        flag[0] = True
        self.assertEqual(steps.send(PENDING),
                         protocol.Withdraw(PENDING, "the client aborted the wait"))
        with self.assertRaises(ApprovalAborted):
            steps.send(None)

    # Tests that a caller stopped mid-poll (Ctrl-C, a cancelled task) withdraws its approval.
    def test_stopped_waiter_withdraws(self):
        for stop, reason in ((KeyboardInterrupt(), "the client stopped waiting"),
                             (asyncio.CancelledError(), "the client cancelled the wait")):
            steps = wait_steps(Clock())
            next(steps)
            steps.send(None)
            self.assertEqual(steps.throw(stop), protocol.Withdraw(PENDING, reason))
            with self.assertRaises(type(stop)):
                steps.send(None)

    # Tests that a deny, or an allow never polled for, never reaches the tool.
    def test_deny_and_no_call_id_raise_denied(self):
        with self.assertRaises(Denied):
            next(wait_steps(Clock(), decision=DENY))
        with self.assertRaises(Denied):
            next(wait_steps(Clock(), decision=Decision("approval_required", "X", tool="t")))

    # Tests that the guard runs the reviewer's edited arguments and reports the result.
    def test_guard_runs_the_edit_and_reports(self):
        steps = guard_steps(Clock())
        self.assertEqual(next(steps), protocol.Decide("send", {"to": "x"}, None, None, None, "k1"))
        self.assertIsInstance(steps.send(PENDING), protocol.Pending)
        steps.send(None)  # the poll
        self.assertEqual(steps.send(EDITED), protocol.Claim(EDITED))
        self.assertEqual(steps.send(None), protocol.Call({"to": "safe"}))
        self.assertEqual(steps.send({"sent": True}),
                         protocol.Report("c1", True, {"sent": True}, None))
        with self.assertRaises(StopIteration) as stop:
            steps.send(None)
        self.assertEqual(stop.exception.value, {"sent": True})

    # Tests that a caller stopped while deciding withdraws what that decision may have opened.
    def test_stopped_while_deciding_withdraws_in_flight(self):
        steps = guard_steps(Clock())
        decide = next(steps)
        self.assertEqual(steps.throw(asyncio.CancelledError()),
                         protocol.WithdrawInFlight(decide))
        with self.assertRaises(asyncio.CancelledError):
            steps.send(None)

    # Tests that a failing tool is reported as failed and its exception re-raised.
    def test_failing_tool_is_reported_and_raised(self):
        steps = guard_steps(Clock())
        next(steps)
        self.assertIsInstance(steps.send(ALLOW), protocol.Claim)
        steps.send(None)
        self.assertEqual(steps.throw(ValueError("boom")),
                         protocol.Report("c1", False, None, "ValueError: boom"))
        with self.assertRaises(ValueError):
            steps.send(None)

    # Tests that the blocking and the asyncio driver take the same steps for one script.
    def test_both_drivers_take_the_same_steps(self):
        def script():
            return [PENDING, EDITED]

        clock = Clock()
        sync_run = FakeRun(script(), clock)
        out = protocol.drive(guard_steps(clock), perform_sync(sync_run, fn=lambda **kw: kw))
        clock = Clock()
        async_run = FakeRun(script(), clock)
        aout = asyncio.run(drive_async(guard_steps(clock), async_run,  # type: ignore[arg-type]
                                       fn=lambda **kw: kw))
        self.assertEqual(out, {"to": "safe"})
        self.assertEqual(aout, out)
        self.assertEqual(async_run.log, sync_run.log)
        self.assertEqual(sync_run.log, [("decide", "send", "k1"), ("poll", 30), ("poll", 30),
                                        ("claim", "c1"), ("report", True, {"to": "safe"}, None)])


if __name__ == "__main__":
    unittest.main()
