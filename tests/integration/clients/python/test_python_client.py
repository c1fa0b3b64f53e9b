"""The Python client (clients/python) against a real `interlock serve` on 127.0.0.1:0.

Run by ctest (tests/integration/clients/python/CMakeLists.txt) with INTERLOCK_BIN and
PYTHONPATH set; by hand:
  INTERLOCK_BIN=build/interlock PYTHONPATH=clients/python/src:tests/integration/clients/python \
    python3 -m unittest -v test_python_client
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Callable, Optional, Tuple

import interlock
from interlock import (ApprovalAborted, ApprovalTimeout, AsyncClient, Client, Denied,
                       NoActiveRun, Unauthenticated, Unavailable)
from interlock.adapters import langchain as lc_adapter
from interlock.adapters import openai_agents as oa_adapter

from daemon import AGENT, Daemon, DroppingProxy

D: Daemon = None  # type: ignore[assignment]
TOKENS = {}


def setUpModule() -> None:
    global D
    D = Daemon()
    TOKENS["agent"] = D.token("--agent", AGENT)
    TOKENS["ghost"] = D.token("--agent", "ghost-agent")
    TOKENS["quota"] = D.token("--agent", "quota-agent")
    TOKENS["reviewer"] = D.token("--reviewer", "alice")
    TOKENS["admin"] = D.token("--admin", "operator")
    D.start()


def tearDownModule() -> None:
    if D:
        D.stop()


def client(**kw) -> Client:
    kw.setdefault("timeout", 10)
    kw.setdefault("backoff", 0.05)
    return Client(url=kw.pop("url", D.url), token=kw.pop("token", TOKENS["agent"]), **kw)


def approve_when_pending(call_id_box: list, verdict: str, comment: str = "ok",
                         arguments: object = None,
                         ready: Optional[threading.Event] = None) -> threading.Thread:
    """A reviewer over HTTP: waits for the pending approval of the call (and for `ready`,
    when given), then votes."""

    def go() -> None:
        deadline = time.monotonic() + 15
        if ready is not None and not ready.wait(15):
            return
        while time.monotonic() < deadline:
            st, body = D.http("GET", "/v1/approvals?state=pending", TOKENS["reviewer"])
            for a in (body or {}).get("approvals", []):
                if call_id_box and a.get("call_id") == call_id_box[0] or \
                        not call_id_box and a.get("tool") in ("send_email", "wait_tool"):
                    vote = {"verdict": verdict, "comment": comment}
                    if arguments is not None:
                        vote["arguments"] = arguments
                    D.http("POST", "/v1/approvals/" + a["approval_id"], TOKENS["reviewer"],
                           vote)
                    return
            time.sleep(0.1)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def build_python() -> str:
    """An interpreter that can build a wheel offline: setuptools with bdist_wheel (the
    `wheel` package, or setuptools >= 70.1). Debian's python3 has both
    (python3-setuptools, python3-wheel)."""
    probe = ("import setuptools, sys\n"
             "try:\n import wheel\nexcept ImportError:\n"
             " v = tuple(int(x) for x in setuptools.__version__.split('.')[:2])\n"
             " sys.exit(0 if v >= (70, 1) else 1)\n")
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and os.access(exe, os.X_OK) and subprocess.run(
                [exe, "-c", probe], capture_output=True, timeout=30).returncode == 0 and \
                subprocess.run([exe, "-m", "pip", "--version"], capture_output=True,
                               timeout=30).returncode == 0:
            return exe
    return ""


def audit(run_id: str) -> list:
    st, body = D.http("GET", "/v1/audit?run_id=" + run_id + "&limit=1000", TOKENS["reviewer"])
    assert st == 200, body
    return body["records"]


class Decisions(unittest.TestCase):
    def test_allowed_call_runs_and_result_is_reported(self):
        c = client()
        with c.run() as run:
            d = run.decide("echo", {"x": 1})
            self.assertTrue(d.allowed)
            self.assertEqual(d.code, "ALLOWED")
            self.assertTrue(d.call_id)
            out = run.guard("echo", {"text": "hi"}, lambda text: {"echoed": text})
            self.assertEqual(out, {"echoed": "hi"})
            run_id = run.run_id
        results = [r for r in audit(run_id) if r["type"] == "result"]
        self.assertEqual(len(results), 1)
        self.assertTrue(results[0]["data"]["ok"])
        self.assertEqual(results[0]["data"]["output"], {"echoed": "hi"})
        st, body = D.http("GET", "/v1/runs/" + run_id, TOKENS["reviewer"])
        self.assertEqual(body["state"], "ended")

    def assertDenied(self, run, code, tool, args=None, **kw):
        ran = []
        with self.assertRaises(Denied) as cm:
            run.guard(tool, args or {}, lambda **a: ran.append(a), **kw)
        self.assertEqual(cm.exception.decision.code, code, cm.exception.decision)
        self.assertEqual(ran, [], "a denied tool must not run")
        return cm.exception

    def test_each_deny_code_raises_denied_and_never_runs_the_tool(self):
        c = client()
        with c.run() as run:
            self.assertDenied(run, "TOOL_BLOCKED", "delete_record", {"id": "r-1"})
            self.assertDenied(run, "TOOL_NOT_ALLOWED", "format_disk")
            self.assertDenied(run, "TOOL_NOT_ALLOWED", "Delete_Record")
            self.assertDenied(run, "CONSTRAINT_VIOLATED", "update_status",
                              {"id": "r-1", "status": "deleted"})
            self.assertDenied(run, "SCOPE_VIOLATED", "read_record", {"fields": ["ssn"]})
            self.assertDenied(run, "RECORD_LIMIT_EXCEEDED", "update_status",
                              {"ids": ["a", "b", "c"], "status": "open"})
            self.assertDenied(run, "FROZEN", "frozen_tool")
            run.guard("once_an_hour", {}, lambda: None)
            e = self.assertDenied(run, "RATE_LIMITED", "once_an_hour")
            self.assertIsNotNone(e.decision.retry_after_s)
            d = run.decide("echo", {"x": 1})
            self.assertTrue(d.allowed, "a deny does not end the run")
        with client(token=TOKENS["ghost"]).run() as run:
            self.assertDenied(run, "UNKNOWN_AGENT", "echo")
        with client(token=TOKENS["quota"]).run() as run:
            run.guard("echo", {}, lambda: None)
            run.guard("echo", {}, lambda: None)
            e = self.assertDenied(run, "QUOTA_EXCEEDED", "echo")
            self.assertIsNotNone(e.decision.retry_after_s)

    def test_invalid_request_is_a_deny_decision(self):
        with client().run() as run:
            d = run.decide("echo", ["not", "an", "object"])  # type: ignore[arg-type]
            self.assertEqual((d.decision, d.code), ("deny", "INVALID_REQUEST"))
            ran = []
            with self.assertRaises(Denied) as cm:
                run.guard("echo", ["x"], lambda *a: ran.append(a))  # type: ignore[arg-type]
            self.assertEqual(cm.exception.decision.code, "INVALID_REQUEST")
            self.assertEqual(ran, [])

    def test_bad_approval_id_resubmission_is_denied(self):
        with client().run() as run:
            d = run.decide("send_email", {"to": "x@example.com"}, approval_id="apr_forged")
            self.assertEqual(d.code, "APPROVAL_DENIED")

    def test_budget_halt_stops_the_run(self):
        with client().run() as run:
            run.guard("echo", {}, lambda: "ok", tokens=600)
            self.assertDenied(run, "BUDGET_EXCEEDED", "echo", tokens=600)
            self.assertDenied(run, "RUN_HALTED", "echo")
            self.assertTrue(run.state()["halted"])

    def test_kill_switch_mid_run(self):
        with client().run() as run:
            run.guard("echo", {}, lambda: "before")
            st, _ = D.http("POST", "/v1/kill", TOKENS["admin"],
                           {"scope": "run", "target": run.run_id, "engaged": True,
                            "reason": "stop this run"})
            self.assertEqual(st, 200)
            self.assertDenied(run, "KILL_SWITCH", "echo")

    def test_usage_and_result_are_visible_in_run_and_audit(self):
        c = client()
        with c.run() as run:
            run.report_usage(tokens=120, cost_usd=0.01)
            d = run.decide("echo", {}, tokens=30)
            run.report_result(d.call_id, ok=False, error="tool crashed", tokens=5)
            state = run.state()
            self.assertEqual(state["tokens"], 155)
            self.assertAlmostEqual(state["cost_usd"], 0.01)
            call = c.get_call(d.call_id)
            self.assertEqual(call.raw["result"]["ok"], False)
            run_id = run.run_id
        types = [r["type"] for r in audit(run_id)]
        self.assertIn("usage", types)
        self.assertIn("result", types)
        usage = [r for r in audit(run_id) if r["type"] == "usage"][0]
        self.assertEqual(usage["data"]["usage"]["tokens"], 120)

    def test_tool_exception_is_reported_as_error_and_reraised(self):
        with client().run() as run:
            def boom():
                raise RuntimeError("disk on fire")
            with self.assertRaises(RuntimeError):
                run.guard("echo", {}, boom)
            run_id = run.run_id
        res = [r for r in audit(run_id) if r["type"] == "result"][0]
        self.assertFalse(res["data"]["ok"])
        self.assertIn("disk on fire", res["data"]["error"])


    def test_unserializable_args_send_nothing_and_never_run(self):
        with client().run() as run:
            ran = []
            with self.assertRaises(interlock.InvalidArguments):
                run.guard("echo", {"x": object()}, lambda x: ran.append(x))
            with self.assertRaises(interlock.InvalidArguments):
                run.guard("echo", {"x": float("nan")}, lambda x: ran.append(x))
            self.assertEqual(ran, [])
            self.assertEqual(run.state()["steps"], 0)

    def test_second_result_is_conflict(self):
        with client().run() as run:
            d = run.decide("echo", {})
            run.report_result(d.call_id, ok=True, output="once")
            with self.assertRaises(interlock.Conflict):
                run.report_result(d.call_id, ok=True, output="twice")


class Approvals(unittest.TestCase):
    def test_approval_granted_by_reviewer_while_client_waits(self):
        with client().run() as run:
            t = approve_when_pending([], "approve")
            out = run.guard("send_email", {"to": "c@example.com"}, lambda to: "sent " + to,
                            approval_timeout=20)
            t.join(5)
            self.assertEqual(out, "sent c@example.com")

    def test_reviewer_edited_arguments_are_what_the_tool_runs_with(self):
        # A reviewer corrects the recipient before approving: guard runs the tool with
        # the edited arguments (decision.arguments), never the ones the agent gave.
        with client().run() as run:
            t = approve_when_pending([], "approve", arguments={"to": "fixed@example.com"})
            out = run.guard("send_email", {"to": "typo@example.com"}, lambda to: "sent " + to,
                            approval_timeout=20)
            t.join(5)
            self.assertEqual(out, "sent fixed@example.com")

    # Tests that two identical calls made at once (a model's parallel tool calls), which the
    # daemon answers with one approval, run once when it is granted, sync and async.
    def test_parallel_identical_calls_run_once_per_approval(self):
        sent = []

        def outcome(f):
            try:
                return f()
            except Denied as e:
                return e.decision.code

        def both_pending() -> Tuple[threading.Event, Callable[[object], None]]:
            # The reviewer votes once both calls are answered approval_required: a vote
            # before the second call reaches the daemon (a loaded machine) would leave it an
            # approval of its own, which is not the attack this test makes.
            ready, lock, seen = threading.Event(), threading.Lock(), []

            def on_pending(_d: object) -> None:
                with lock:
                    seen.append(_d)
                    if len(seen) == 2:
                        ready.set()

            return ready, on_pending

        with client().run() as run:
            results = []
            ready, on_pending = both_pending()
            threads = [threading.Thread(target=lambda: results.append(outcome(
                lambda: run.guard("send_email", {"to": "twice@example.com"},
                                  lambda to: sent.append(to) or "sent", approval_timeout=20,
                                  on_pending=on_pending))))
                for _ in range(2)]
            for t in threads:
                t.start()
            t = approve_when_pending([], "approve", ready=ready)
            for th in threads + [t]:
                th.join(25)
            self.assertEqual(sorted(results), ["APPROVAL_DENIED", "sent"])
        self.assertEqual(sent, ["twice@example.com"])

        async def main():
            c = AsyncClient(url=D.url, token=TOKENS["agent"])
            async with c.run() as arun:
                ready, on_pending = both_pending()

                async def one():
                    try:
                        return await arun.guard("send_email", {"to": "async@example.com"},
                                                lambda to: sent.append(to) or "sent",
                                                approval_timeout=20, on_pending=on_pending)
                    except Denied as e:
                        return e.decision.code

                t = approve_when_pending([], "approve", ready=ready)
                out = await asyncio.gather(one(), one())
                t.join(5)
                self.assertEqual(sorted(out), ["APPROVAL_DENIED", "sent"])

        asyncio.run(main())
        self.assertEqual(sent, ["twice@example.com", "async@example.com"])

    def test_approval_denied_by_reviewer_while_client_waits(self):
        with client().run() as run:
            approve_when_pending([], "deny", "too broad")
            ran = []
            with self.assertRaises(Denied) as cm:
                run.guard("send_email", {"to": "d@example.com"}, lambda to: ran.append(to),
                          approval_timeout=20)
            self.assertEqual(cm.exception.decision.code, "APPROVAL_DENIED")
            self.assertEqual(ran, [])

    def test_daemon_approval_timeout_is_approval_timeout(self):
        with client().run() as run:
            with self.assertRaises(ApprovalTimeout) as cm:
                run.guard("quick_approval", {}, lambda: self.fail("ran"), approval_timeout=20)
            self.assertEqual(cm.exception.decision.code, "APPROVAL_TIMEOUT")

    def test_client_deadline_withdraws_the_approval(self):
        c = client()
        with c.run() as run:
            d = run.decide("send_email", {"to": "late@example.com"})
            self.assertTrue(d.approval_required)
            t0 = time.monotonic()
            with self.assertRaises(ApprovalTimeout):
                run.wait_for_approval(d, timeout=1.5)
            self.assertLess(time.monotonic() - t0, 6)
            final = c.get_call(d.call_id)
            self.assertEqual(final.code, "APPROVAL_DENIED")
            self.assertIn("withdrawn", final.reason)

    def test_abort_stops_the_wait_and_withdraws(self):
        c = client()
        with c.run() as run:
            d = run.decide("send_email", {"to": "abort@example.com"})
            abort = threading.Event()
            threading.Timer(0.5, abort.set).start()
            t0 = time.monotonic()
            with self.assertRaises(ApprovalAborted):
                run.wait_for_approval(d, timeout=60, abort=abort)
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual(c.get_call(d.call_id).code, "APPROVAL_DENIED")

    def test_kill_switch_while_waiting_for_approval_denies(self):
        with client().run() as run:
            def kill():
                time.sleep(0.7)
                D.http("POST", "/v1/kill", TOKENS["admin"],
                       {"scope": "run", "target": run.run_id, "engaged": True, "reason": "stop"})
            threading.Thread(target=kill, daemon=True).start()
            with self.assertRaises(Denied) as cm:
                run.guard("send_email", {"to": "k@example.com"}, lambda to: self.fail("ran"),
                          approval_timeout=20)
            self.assertIn(cm.exception.decision.code, ("APPROVAL_DENIED", "KILL_SWITCH"))


class Failures(unittest.TestCase):
    def test_unauthenticated(self):
        with self.assertRaises(Unauthenticated):
            client(token="ilk_not_a_real_token_0000").start_run()

    def test_unavailable_after_bounded_retries_never_runs_the_tool(self):
        s = __import__("socket").socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        c = client(url=f"http://127.0.0.1:{port}", retries=2)
        run = c.attach_run("run-x")
        ran = []
        t0 = time.monotonic()
        with self.assertRaises(Unavailable) as cm:
            run.guard("echo", {}, lambda: ran.append(1))
        self.assertEqual(ran, [])
        self.assertEqual(cm.exception.attempts, 3)
        self.assertLess(time.monotonic() - t0, 5)

    def test_retry_after_dropped_response_is_counted_once(self):
        proxy = DroppingProxy(D.port, b"/calls HTTP/1.1")
        try:
            c = client(url=f"http://127.0.0.1:{proxy.port}")
            with c.run() as run:
                d = run.decide("echo", {"n": 1})
                self.assertTrue(d.allowed)
                self.assertEqual(proxy.dropped, 1)
                keys = [line for h in proxy.requests if b"/calls " in h
                        for line in h.split(b"\r\n")
                        if line.lower().startswith(b"idempotency-key:")]
                self.assertEqual(len(keys), 2, proxy.requests)
                self.assertEqual(keys[0], keys[1], "the retry must send the same key")
                steps = run.state()["steps"]
                run_id = run.run_id
            decisions = [r for r in audit(run_id) if r["type"] == "decision"]
            self.assertEqual(steps, 1, "the retried call counts one step")
            self.assertEqual(len(decisions), 1)
        finally:
            proxy.close()

    def test_retried_usage_and_result_after_dropped_response_count_once(self):
        for route in (b"/usage HTTP/1.1", b"/result HTTP/1.1"):
            proxy = DroppingProxy(D.port, route)
            try:
                c = client(url=f"http://127.0.0.1:{proxy.port}")
                with c.run() as run:
                    if route.startswith(b"/usage"):
                        run.report_usage(tokens=100)
                    else:
                        d = run.decide("echo", {})
                        run.report_result(d.call_id, ok=True, output="x", tokens=100)
                    self.assertEqual(proxy.dropped, 1)
                    self.assertEqual(run.state()["tokens"], 100, route)
            finally:
                proxy.close()

    def test_token_never_in_errors_reprs_or_logs(self):
        secrets = [TOKENS["agent"], "ilk_not_a_real_token_0000"]
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        lg = logging.getLogger("interlock")
        lg.addHandler(handler)
        old = lg.level
        lg.setLevel(logging.DEBUG)
        texts = []
        try:
            c = client()
            texts += [repr(c), str(c)]
            with c.run() as run:
                texts += [repr(run)]
                try:
                    run.guard("delete_record", {}, lambda: None)
                except Denied as e:
                    texts += [str(e), repr(e), repr(e.decision)]
            try:
                client(token=secrets[1]).start_run()
            except Unauthenticated as e:
                texts += [str(e), repr(e)]
            try:
                client(url="http://127.0.0.1:1", token=secrets[1], retries=1).start_run()
            except Unavailable as e:
                texts += [str(e), repr(e)]
            try:
                run2 = client().attach_run("no-such-run")
                run2.decide("echo", {})
            except interlock.InterlockError as e:
                texts += [str(e), repr(e)]
        finally:
            lg.removeHandler(handler)
            lg.setLevel(old)
        texts.append(stream.getvalue())
        self.assertIn("failed", stream.getvalue())  # something was logged
        for t in texts:
            for s in secrets:
                self.assertNotIn(s, t)


class StubDaemon:
    """An HTTP server on 127.0.0.1:0 answering every request with one canned response."""

    def __init__(self, status: int, body: bytes):
        import http.server

        stub = self
        self.hits = 0

        class H(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                stub.hits += 1
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FailClosed(unittest.TestCase):
    """Answers no real daemon gives: never an allow."""

    def guard_against(self, status, body, **kw):
        stub = StubDaemon(status, body)
        try:
            run = Client(url=stub.url, token="t", backoff=0.01, **kw).attach_run("r")
            ran = []
            try:
                run.guard("echo", {}, lambda: ran.append(1))
            finally:
                self.assertEqual(ran, [], "the tool must not run")
        finally:
            stub.close()
        return stub

    def test_503_is_unavailable_after_bounded_retries(self):
        with self.assertRaises(Unavailable) as cm:
            self.guard_against(503, b'{"code":"UNAVAILABLE","reason":"busy"}', retries=2)
        self.assertEqual(cm.exception.attempts, 3)

    def test_garbage_answer_is_a_deny(self):
        with self.assertRaises(Denied) as cm:
            self.guard_against(200, b"<html>proxy login</html>")
        self.assertEqual(cm.exception.decision.code, "INVALID_RESPONSE")

    def test_allow_without_allowed_code_is_a_deny(self):
        with self.assertRaises(Denied):
            self.guard_against(200, b'{"decision":"allow","code":"SOMETHING_NEW","call_id":"c"}')

    def test_unknown_verdict_is_a_deny(self):
        with self.assertRaises(Denied):
            self.guard_against(200, b'{"decision":"maybe","code":"ALLOWED","call_id":"c"}')

    def test_500_is_an_error_not_an_allow(self):
        with self.assertRaises(interlock.APIError) as cm:
            self.guard_against(500, b'{"code":"INTERNAL","reason":"oops"}')
        self.assertEqual(cm.exception.status, 500)



class ScriptedDaemon:
    """A fake daemon on 127.0.0.1:0: POST .../calls answers ``decide`` and GET
    /v1/calls/{id} answers ``poll`` (raw bytes, so a body can name a member twice); results
    and withdrawals get 204. ``paths`` lists what was asked. Each decision is a new call:
    the call id c0ffee01 in ``decide`` becomes c0ffee01nN, and in ``poll`` the polled id."""

    def __init__(self, decide: bytes, poll: bytes = b"{}"):
        import http.server

        stub = self
        self.paths = []

        class H(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                stub.paths.append((self.command, self.path))
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                if self.command == "POST" and self.path.endswith("/calls"):
                    fresh = b"c0ffee01n%d" % len(stub.paths)
                    status, body = 200, decide.replace(b"c0ffee01", fresh)
                elif self.command == "GET" and self.path.startswith("/v1/calls/"):
                    polled = self.path.split("/")[3].split("?")[0].encode()
                    status, body = 200, poll.replace(b"c0ffee01", polled)
                else:
                    status, body = 204, b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _allow(**changes) -> bytes:
    """A complete allow for tool echo, call c0ffee01, run r-1, with ``changes`` (None
    removes a member)."""
    body = {"decision": "allow", "code": "ALLOWED", "reason": "ok", "rule": "tools.allowed",
            "agent_id": "py-agent", "tool": "echo", "call_id": "c0ffee01"}
    for k, v in changes.items():
        if v is None:
            body.pop(k, None)
        else:
            body[k] = v
    return json.dumps(body).encode()


# approval_required for echo's call c0ffee01; the verdict then comes on the poll.
_PENDING = json.dumps({"decision": "approval_required", "code": "APPROVAL_REQUIRED",
                       "reason": "needs a reviewer", "rule": "approval", "tool": "echo",
                       "call_id": "c0ffee01", "approval_id": "apr_c0ffee01"}).encode()


def _granted(**changes) -> bytes:
    """The poll's allow of an approved echo call c0ffee01 in run r-1."""
    base = {"rule": "approval", "reason": "approved by alice", "run_id": "r-1",
            "pending": False}
    base.update(changes)
    return _allow(**base)


class IncompleteAllows(unittest.TestCase):
    """One check of the decision envelope, shared by every path that runs a tool: a fake
    daemon answers allows that are not complete, and no path runs the tool."""

    def every_path_runs(self, decide: bytes, poll: bytes = b"{}") -> list:
        """Drives guard (sync, async), decide, the decorators and both adapters (on a Run
        and an AsyncRun) against the fake; returns the arguments each tool ran with."""
        fake = ScriptedDaemon(decide, poll)
        ran = []
        try:
            c = Client(url=fake.url, token="t", retries=0, approval_timeout=5)
            ac = AsyncClient(url=fake.url, token="t", retries=0, approval_timeout=5)
            run = c.attach_run("r-1")

            def echo(text="x"):
                ran.append(text)
                return text

            if run.decide("echo", {"text": "decide"}).allowed:
                ran.append("decide said allowed")
            with c.run("r-1", end=False):
                for f in (lambda: run.guard("echo", {"text": "guard"}, echo),
                          lambda: c.guarded("echo")(echo)("decorator")):
                    try:
                        f()
                    except Denied:
                        pass
                lc_adapter.guard_tool(FakeLangChainTool("echo", echo)).invoke({"text": "lc"})

            async def main():
                arun = ac.attach_run("r-1")
                try:
                    await arun.guard("echo", {"text": "async guard"}, echo)
                except Denied:
                    pass
                async with ac.run("r-1", end=False):
                    try:
                        await ac.guarded("echo")(echo)("async decorator")
                    except Denied:
                        pass
                for r in (arun, run):
                    oa = oa_adapter.guard_function_tool(FakeFunctionTool("echo", echo), run=r)
                    await oa.on_invoke_tool(None, json.dumps({"text": "openai agents"}))
                    lc = lc_adapter.guard_tool(FakeLangChainTool("echo", echo), run=r)
                    await lc.ainvoke({"text": "langchain arun"})

            asyncio.run(main())
        finally:
            fake.close()
        return ran

    def assertNeverRuns(self, decide: bytes, poll: bytes = b"{}"):
        self.assertEqual(self.every_path_runs(decide, poll), [])

    # Tests that the fake's complete allows run every path (the tests below are not vacuous).
    def test_complete_allow_runs_every_path(self):
        # Nine paths run the tool (and decide() says allowed) on a direct allow; the nine
        # run it after a granted approval.
        self.assertEqual(len(self.every_path_runs(_allow())), 10)
        self.assertEqual(len(self.every_path_runs(_PENDING, _granted())), 9)

    # Tests that an allow without a call_id (nothing to report, nothing recorded) never runs.
    def test_allow_without_call_id_never_runs_the_tool(self):
        self.assertNeverRuns(_allow(call_id=None))
        self.assertNeverRuns(_PENDING, _granted(call_id=None))

    # Tests that an allow whose call_id is not an id the daemon hands out never runs.
    def test_allow_with_malformed_call_id_never_runs_the_tool(self):
        for bad in ("", "../../v1/kill", "c 1", 17):
            self.assertNeverRuns(_allow(call_id=bad))

    # Tests that an allow without its code (ALLOWED) never runs.
    def test_allow_without_code_never_runs_the_tool(self):
        self.assertNeverRuns(_allow(code=None))
        self.assertNeverRuns(_allow(code="allowed"))

    # Tests that verdict spellings other than the exact "allow" never run.
    def test_allow_verdict_case_variants_never_run_the_tool(self):
        for verdict in ("ALLOW", "Allow", "allow ", "allowed"):
            self.assertNeverRuns(_allow(decision=verdict))

    # Tests that an answer naming a member twice (a deny that a last-wins parser reads as
    # an allow) never runs.
    def test_allow_with_duplicate_members_never_runs_the_tool(self):
        self.assertNeverRuns(b'{"decision":"deny","code":"TOOL_BLOCKED","reason":"no",'
                             b'"rule":"r","tool":"echo","call_id":"c0ffee01",'
                             b'"decision":"allow","code":"ALLOWED"}')
        self.assertNeverRuns(_PENDING, _granted()[:-1] + b',"run":{"a":1,"a":2}}')

    # Tests that an allow carrying what only another verdict carries never runs.
    def test_allow_with_extra_verdict_fields_never_runs_the_tool(self):
        self.assertNeverRuns(_allow(verdict="deny"))
        self.assertNeverRuns(_allow(retry_after_s=30))

    # Tests that an allow that is still pending approval never runs.
    def test_allow_with_approval_pending_never_runs_the_tool(self):
        self.assertNeverRuns(_allow(approval={"timeout_seconds": 300}))
        self.assertNeverRuns(_allow(pending=True))
        self.assertNeverRuns(_PENDING, _granted(pending=True))

    # Tests that an allow for another tool than the one asked about never runs.
    def test_allow_for_another_tool_never_runs_the_tool(self):
        self.assertNeverRuns(_allow(tool="delete_record"))
        self.assertNeverRuns(_allow(tool=None))
        self.assertNeverRuns(_PENDING, _granted(tool="delete_record"))

    # Tests that the poll's allow for another call, or another run, never runs this call.
    def test_allow_for_another_call_or_run_never_runs_the_tool(self):
        self.assertNeverRuns(_PENDING, _granted(call_id="c0ffee02"))
        self.assertNeverRuns(_PENDING, _granted(run_id="r-2"))
        self.assertNeverRuns(_PENDING, _granted(run_id=None))
        self.assertNeverRuns(_allow(run_id="r-2"))

    # Tests that a grant whose edit cannot be read never runs the agent's arguments.
    def test_grant_with_unreadable_edit_never_runs_the_original_arguments(self):
        self.assertNeverRuns(_PENDING, _granted(arguments=["to", "x"]))
        self.assertNeverRuns(_PENDING, _granted(reason="approved by alice with edited arguments"))


class Decorator(unittest.TestCase):
    def test_guarded_decorator_uses_the_current_run(self):
        c = client()
        sent = []

        @c.guarded("echo")
        def echo(text, loud=False):
            sent.append(text)
            return text.upper() if loud else text

        @c.guarded("delete_record")
        def delete_record(id):
            sent.append("deleted " + id)

        with self.assertRaises(NoActiveRun):
            echo("outside")
        with c.run() as run:
            self.assertEqual(echo("hi", loud=True), "HI")
            with self.assertRaises(Denied) as cm:
                delete_record("r-1")
            self.assertEqual(cm.exception.decision.code, "TOOL_BLOCKED")
            run_id = run.run_id
        self.assertEqual(sent, ["hi"])
        dec = [r for r in audit(run_id) if r["type"] == "decision"]
        self.assertEqual(dec[0]["data"]["args"], {"text": "hi", "loud": True})
        with self.assertRaises(NoActiveRun):
            echo("after")

    def test_guarded_method_does_not_send_self(self):
        c = client()

        class Mailer:
            @c.guarded("echo")
            def echo(self, text, **extra):
                return text

        with c.run() as run:
            self.assertEqual(Mailer().echo("m", tag="t"), "m")
            run_id = run.run_id
        dec = [r for r in audit(run_id) if r["type"] == "decision"]
        self.assertEqual(dec[0]["data"]["args"], {"text": "m", "tag": "t"})


class Async(unittest.TestCase):
    def test_async_client_same_surface(self):
        async def main():
            c = AsyncClient(url=D.url, token=TOKENS["agent"], backoff=0.05)

            @c.guarded("echo")
            async def echo(text):
                await asyncio.sleep(0)
                return "async " + text

            async with c.run() as run:
                d = await run.decide("echo", {})
                self.assertTrue(d.allowed)
                self.assertEqual(await echo("hi"), "async hi")
                with self.assertRaises(Denied):
                    await run.guard("delete_record", {}, lambda: None)
                approve_when_pending([], "approve")
                out = await run.guard("send_email", {"to": "a@example.com"},
                                      lambda to: "sent", approval_timeout=20)
                self.assertEqual(out, "sent")
                await run.report_usage(tokens=7)
                self.assertGreaterEqual((await run.state())["tokens"], 7)

                # Cancelling a waiting task withdraws its approval.
                d = await run.decide("send_email", {"to": "cancel@example.com"})
                task = asyncio.ensure_future(run.wait_for_approval(d, timeout=60))
                await asyncio.sleep(0.5)
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
                self.assertEqual((await c.get_call(d.call_id)).code, "APPROVAL_DENIED")

        asyncio.run(main())


    def test_cancel_while_deciding_leaves_no_pending_approval(self):
        # Cancelled while the decision is in flight (its thread finishes the request, the
        # answer with the approval's id is lost): the client asks for the same decision
        # again by its Idempotency-Key and withdraws it. Cancelled at several points, so
        # both "before the daemon saw it" and "after" are covered.
        async def main():
            c = AsyncClient(url=D.url, token=TOKENS["agent"], backoff=0.05)
            for delay in (0, 0.001, 0.003, 0.01):
                async with c.run() as run:
                    task = asyncio.ensure_future(run.guard(
                        "send_email", {"to": f"cancel-{delay}@example.com"},
                        lambda to: self.fail("ran"), approval_timeout=60))
                    await asyncio.sleep(delay)
                    task.cancel()
                    with self.assertRaises(asyncio.CancelledError):
                        await task
                    st, body = D.http("GET", "/v1/approvals?state=pending", TOKENS["reviewer"])
                    left = [a for a in (body or {}).get("approvals", [])
                            if a.get("run_id") == run.run_id]
                    self.assertEqual(left, [], f"delay {delay}")

        asyncio.run(main())

# Stand-ins shaped like the frameworks' objects (the frameworks are not installable here).
class FakeFunctionTool:
    """agents.FunctionTool: name, params_json_schema, on_invoke_tool(ctx, json) -> awaitable."""

    def __init__(self, name, fn, needs_approval=True):
        self.name = name
        self.description = "fake"
        self.params_json_schema = {"type": "object"}
        self.needs_approval = needs_approval
        self.calls = []

        async def on_invoke_tool(ctx, args_json):
            args = json.loads(args_json)
            self.calls.append(args)
            return fn(**args)

        self.on_invoke_tool = on_invoke_tool


class FakeLangChainTool:
    """langchain_core.tools.BaseTool: name; invoke() parses input and calls _run(**kw,
    run_manager=...); ainvoke() calls _arun (default: _run in an executor)."""

    def __init__(self, name, fn):
        self.name = name
        self.fn = fn
        self.calls = []

    def _run(self, run_manager=None, **kwargs):
        self.calls.append(kwargs)
        return self.fn(**kwargs)

    async def _arun(self, run_manager=None, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self._run(run_manager=run_manager, **kwargs))

    def invoke(self, input, config=None):
        return self._run(run_manager=object(), **input)

    async def ainvoke(self, input, config=None):
        return await self._arun(run_manager=object(), **input)


class FakeStructuredTool(FakeLangChainTool):
    """langchain_core.tools.StructuredTool: _run(*args, config, run_manager=None, **kwargs);
    BaseTool.run passes config because _run's signature has it."""

    def _run(self, *args, config, run_manager=None, **kwargs):
        self.calls.append(kwargs)
        return self.fn(*args, **kwargs)

    def invoke(self, input, config=None):
        import inspect as _inspect
        extra = {}
        if "config" in _inspect.signature(self._run).parameters:
            extra["config"] = {"tags": []}
        return self._run(run_manager=object(), **extra, **input)


class Adapters(unittest.TestCase):
    def test_langchain_structured_tool_shape(self):
        t = FakeStructuredTool("echo", lambda text: "st " + text)
        g = lc_adapter.guard_tool(t)
        with client().run() as run:
            self.assertEqual(g.invoke({"text": "q"}), "st q")
            run_id = run.run_id
        dec = [r for r in audit(run_id) if r["type"] == "decision"]
        self.assertEqual(dec[0]["data"]["args"], {"text": "q"}, "config is not an arg")

    def test_adapters_import_no_framework(self):
        code = ("import sys, interlock.adapters.openai_agents, interlock.adapters.langchain;"
                "bad=[m for m in sys.modules if m.split('.')[0] in "
                "('agents','langchain','langchain_core','langgraph','openai')];"
                "sys.exit(1 if bad else 0)")
        r = subprocess.run([sys.executable, "-c", code], env=os.environ, timeout=30)
        self.assertEqual(r.returncode, 0)

    def test_openai_agents_denial_is_a_string_the_model_reads(self):
        blocked = FakeFunctionTool("delete_record", lambda id: "deleted")
        echo = FakeFunctionTool("echo", lambda text: "echo " + text)
        hosted = object()  # e.g. WebSearchTool: no on_invoke_tool, passed through
        g_blocked, g_echo, g_hosted = oa_adapter.guard_tools([blocked, echo, hosted])
        self.assertIs(g_hosted, hosted)
        self.assertFalse(g_echo.needs_approval, "Interlock's queue replaces needs_approval")
        self.assertTrue(echo.needs_approval, "the original is not modified")

        async def main():
            c = AsyncClient(url=D.url, token=TOKENS["agent"])
            async with c.run():
                out = await g_blocked.on_invoke_tool(None, json.dumps({"id": "r-1"}))
                self.assertIsInstance(out, str)
                self.assertIn("TOOL_BLOCKED", out)
                self.assertEqual(blocked.calls, [])
                self.assertEqual(await g_echo.on_invoke_tool(None, '{"text": "x"}'), "echo x")
                bad = await g_echo.on_invoke_tool(None, "{not json")
                self.assertIn("INVALID_REQUEST", bad)
            # A sync Client run works too.
            with client().run():
                self.assertEqual(await g_echo.on_invoke_tool(None, '{"text": "y"}'), "echo y")
            with self.assertRaises(NoActiveRun):
                await g_echo.on_invoke_tool(None, '{"text": "z"}')

        asyncio.run(main())
        self.assertEqual(echo.calls, [{"text": "x"}, {"text": "y"}])

    def test_openai_agents_approval_through_interlock(self):
        email = FakeFunctionTool("send_email", lambda to: "sent to " + to)
        (g,) = oa_adapter.guard_tools([email], approval_timeout=20)

        async def main():
            c = AsyncClient(url=D.url, token=TOKENS["agent"])
            async with c.run():
                approve_when_pending([], "deny", "no")
                out = await g.on_invoke_tool(None, '{"to": "z@example.com"}')
                self.assertIn("APPROVAL_DENIED", out)

        asyncio.run(main())
        self.assertEqual(email.calls, [])

    def test_langchain_tool_guarded_sync_and_async(self):
        echo = FakeLangChainTool("echo", lambda text: "lc " + text)
        blocked = FakeLangChainTool("delete_record", lambda id: "deleted")
        g_echo, g_blocked = lc_adapter.guard_tools([echo, blocked])
        c = client()
        with c.run() as run:
            self.assertEqual(g_echo.invoke({"text": "a"}), "lc a")
            out = g_blocked.invoke({"id": "r-1"})
            self.assertIn("TOOL_BLOCKED", out)
            run_id = run.run_id
        dec = [r for r in audit(run_id) if r["type"] == "decision"]
        self.assertEqual(dec[0]["data"]["args"], {"text": "a"}, "run_manager is not an arg")
        self.assertEqual(blocked.calls, [])
        with self.assertRaises(Denied):
            with c.run():
                lc_adapter.guard_tool(blocked, on_deny="raise").invoke({"id": "r-2"})

        async def main():
            ac = AsyncClient(url=D.url, token=TOKENS["agent"])
            async with ac.run():
                self.assertEqual(await g_echo.ainvoke({"text": "b"}), "lc b")
                self.assertIn("TOOL_BLOCKED", await g_blocked.ainvoke({"id": "r-3"}))

        asyncio.run(main())
        self.assertEqual(echo.calls, [{"text": "a"}, {"text": "b"}])
        self.assertEqual(blocked.calls, [])


class EditedArguments(unittest.TestCase):
    """A reviewer approves the call with edited arguments (a real daemon, a vote with
    ``arguments``): every path that runs the tool runs the edit, never the agent's own."""

    EDIT = {"to": "fixed@example.com"}

    def approve_with_edit(self) -> threading.Thread:
        return approve_when_pending([], "approve", "fixed the recipient", arguments=self.EDIT)

    def both_runs(self, body):
        """Runs ``body(run)`` (a coroutine) on an AsyncClient run and on a Client run, each
        with a reviewer who approves with the edit."""

        async def main():
            async with AsyncClient(url=D.url, token=TOKENS["agent"]).run() as arun:
                t = self.approve_with_edit()
                await body(arun)
                t.join(5)
            with client().run() as run:
                t = self.approve_with_edit()
                await body(run)
                t.join(5)

        asyncio.run(main())

    # Tests that the OpenAI Agents adapter runs the reviewer's edited arguments, not the
    # model's.
    def test_openai_agents_runs_the_reviewers_edited_arguments(self):
        email = FakeFunctionTool("send_email", lambda to: "sent to " + to)
        (g,) = oa_adapter.guard_tools([email], approval_timeout=20)

        async def body(run):
            out = await g.on_invoke_tool(None, json.dumps({"to": "typo@example.com"}))
            self.assertEqual(out, "sent to fixed@example.com")

        self.both_runs(body)
        self.assertEqual(email.calls, [self.EDIT, self.EDIT])

    # Tests that LangChain's async path (_arun, ainvoke, LangGraph's ToolNode) runs the
    # reviewer's edited arguments, not the model's.
    def test_langchain_arun_runs_the_reviewers_edited_arguments(self):
        email = FakeLangChainTool("send_email", lambda to: "sent to " + to)
        g = lc_adapter.guard_tool(email, approval_timeout=20)

        async def body(run):
            self.assertEqual(await g.ainvoke({"to": "typo@example.com"}),
                             "sent to fixed@example.com")

        self.both_runs(body)
        self.assertEqual(email.calls, [self.EDIT, self.EDIT])

    # Tests that LangChain's sync path runs the edit and still passes the framework's own
    # keyword arguments (StructuredTool._run needs `config`).
    def test_langchain_run_runs_the_reviewers_edited_arguments_with_config(self):
        email = FakeStructuredTool("send_email", lambda to: "sent to " + to)
        g = lc_adapter.guard_tool(email, approval_timeout=20)
        with client().run():
            t = self.approve_with_edit()
            self.assertEqual(g.invoke({"to": "typo@example.com"}), "sent to fixed@example.com")
            t.join(5)
        self.assertEqual(email.calls, [self.EDIT])

    # Tests that the decorators (sync and async) call the function with the edit.
    def test_guarded_decorators_run_the_reviewers_edited_arguments(self):
        c = client()
        ac = AsyncClient(url=D.url, token=TOKENS["agent"])
        sent = []

        @c.guarded("send_email", approval_timeout=20)
        def send(to):
            sent.append(to)

        @ac.guarded("send_email", approval_timeout=20)
        async def asend(to):
            sent.append(to)

        with c.run():
            t = self.approve_with_edit()
            send("typo@example.com")
            t.join(5)

        async def main():
            async with ac.run():
                t = self.approve_with_edit()
                await asend("typo@example.com")
                t.join(5)

        asyncio.run(main())
        self.assertEqual(sent, ["fixed@example.com", "fixed@example.com"])


class Example(unittest.TestCase):
    """examples/agents/python/support_agent.py end to end against a daemon serving
    examples/policies, with a reviewer who approves the email."""

    def test_support_agent_example_end_to_end(self):
        src = os.environ.get("INTERLOCK_SOURCE_DIR", "")
        script = os.path.join(src, "examples", "agents", "python", "support_agent.py")
        if not os.path.exists(script):
            self.skipTest("INTERLOCK_SOURCE_DIR not set")
        d = Daemon(policies_from=os.path.join(src, "examples", "policies"))
        try:
            agent = d.token("--agent", "support-agent-v2")
            reviewer = d.token("--reviewer", "reviewer")
            d.start()

            def approve() -> None:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    st, body = d.http("GET", "/v1/approvals?state=pending", reviewer)
                    for a in (body or {}).get("approvals", []):
                        d.http("POST", "/v1/approvals/" + a["approval_id"], reviewer,
                               {"verdict": "approve", "comment": "checked"})
                        return
                    time.sleep(0.1)

            t = threading.Thread(target=approve, daemon=True)
            t.start()
            env = dict(os.environ, INTERLOCK_URL=d.url, INTERLOCK_TOKEN=agent,
                       SUPPORT_AGENT_APPROVAL_TIMEOUT="30")
            r = subprocess.run([sys.executable, script], env=env, capture_output=True,
                               text=True, timeout=120)
            t.join(5)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            out = r.stdout
            for code in ("SCOPE_VIOLATED", "CONSTRAINT_VIOLATED", "TOOL_BLOCKED",
                         "RECORD_LIMIT_EXCEEDED", "BUDGET_EXCEEDED", "RUN_HALTED"):
                self.assertIn(code, out)
            self.assertIn("waiting for a reviewer", out)
            self.assertIn("emails sent: 1; customer records left: 1", out)
            self.assertNotIn(agent, out + r.stderr)
        finally:
            d.stop()


class Packaging(unittest.TestCase):
    def test_pip_install_offline(self):
        src = os.environ.get("INTERLOCK_PYCLIENT_SRC")
        if not src:
            self.skipTest("INTERLOCK_PYCLIENT_SRC not set")
        tmp = tempfile.mkdtemp(prefix="interlock-pip-")
        try:
            pkg = os.path.join(tmp, "pkg")
            shutil.copytree(src, pkg, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                    "__pycache__"))
            target = os.path.join(tmp, "site")
            py = build_python()
            if not py:
                self.skipTest("no python3 with setuptools and wheel here")
            r = subprocess.run([py, "-m", "pip", "install", "--no-index",
                                "--no-build-isolation", "--disable-pip-version-check", "-q",
                                "--target", target, pkg], capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            env = dict(os.environ, PYTHONPATH=target)
            r = subprocess.run([py, "-c", "import interlock, interlock.adapters."
                                "langchain; print(interlock.__file__)"], env=env,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith(target), r.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
