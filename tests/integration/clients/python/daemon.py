"""Starts the real `interlock serve` on 127.0.0.1 port 0 with a temporary store and
policies (as tests/integration/daemon/daemon_harness.cc does) and talks to it over HTTP
with the standard library only. The binary comes from $INTERLOCK_BIN (set by CMake)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

AGENT = "py-agent"

POLICY = """agent:
  id: "py-agent"
  identity: "py-agent@example.iam"
tools:
  allowed:
    - name: "read_record"
      scope: ["name", "email"]
    - name: "update_status"
      constraints:
        max_records_per_run: 2
        allowed_statuses: ["open", "closed"]
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 300
    - name: "quick_approval"
      requires_approval: true
      approval_timeout_seconds: 1
      auto_deny_on_timeout: true
    - name: "frozen_tool"
    - name: "once_an_hour"
      rate_limit: {calls: 1, per_seconds: 3600}
    - name: "echo"
  blocked:
    - "delete_record"
freeze:
  - name: "always"
    start: "2000-01-01T00:00:00Z"
    end: "2199-01-01T00:00:00Z"
    tools: ["frozen_tool"]
    reason: "frozen for the test"
execution:
  max_steps: 10000
  max_tokens_per_run: 1000
  max_cost_usd: 100.00
  on_budget_exceeded:
    action: "halt"
"""

QUOTA_POLICY = """agent:
  id: "quota-agent"
  identity: "quota-agent@example.iam"
tools:
  allowed:
    - name: "echo"
quotas:
  calls_per_day: 2
execution:
  max_steps: 100
"""

CONFIG = """limits:
  max_wait_seconds: 2
approvals:
  sweep_ms: 100
"""


def binary() -> str:
    b = os.environ.get("INTERLOCK_BIN", "")
    if not b or not os.access(b, os.X_OK):
        raise RuntimeError("set INTERLOCK_BIN to the interlock binary (CMake does)")
    return b


class Daemon:
    def __init__(self, policies_from: Optional[str] = None) -> None:
        self.dir = tempfile.mkdtemp(prefix="interlock-pyclient-")
        self.policies = os.path.join(self.dir, "policies")
        if policies_from:
            shutil.copytree(policies_from, self.policies)
        else:
            os.makedirs(self.policies)
            with open(os.path.join(self.policies, AGENT + ".yaml"), "w") as f:
                f.write(POLICY)
            with open(os.path.join(self.policies, "quota-agent.yaml"), "w") as f:
                f.write(QUOTA_POLICY)
        self.config = os.path.join(self.dir, "interlock.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG)
        self.store = os.path.join(self.dir, "interlock.db")
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0

    def token(self, role_flag: str, name: str) -> str:
        out = subprocess.run([binary(), "token", "create", "--store", self.store, role_flag, name,
                              "--force"], capture_output=True, text=True, timeout=30, check=True)
        return out.stdout.strip().splitlines()[-1].strip()

    def start(self, timeout: float = 20.0) -> None:
        ready = os.path.join(self.dir, "ready.json")
        log = open(os.path.join(self.dir, "daemon.log"), "ab")
        self.proc = subprocess.Popen(
            [binary(), "serve", "--listen", "127.0.0.1:0", "--store", self.store, "--policies",
             self.policies, "--ready-file", ready, "--threads", "2", "--config", self.config],
            stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(ready) as f:
                    self.port = int(json.load(f)["port"])
                    return
            except (OSError, ValueError, KeyError):
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("daemon did not start:\n" + self.log())

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "daemon.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def http(self, method: str, path: str, token: str, body: Any = None,
             timeout: float = 10.0) -> Tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None


class DroppingProxy:
    """A TCP proxy to the daemon that forwards the first request matching `match`, reads
    the daemon's response and closes the client's connection without sending it (a
    response lost on the way back). Everything else is forwarded untouched."""

    def __init__(self, upstream_port: int, match: bytes):
        self.upstream_port = upstream_port
        self.match = match
        self.dropped = 0
        self.requests = []  # the raw request heads seen
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                c, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(c,), daemon=True).start()

    def _handle(self, c: socket.socket) -> None:
        c.settimeout(10)
        up = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        try:
            while True:
                req = _read_http_message(c)
                if not req:
                    return
                with self._lock:
                    self.requests.append(req.split(b"\r\n\r\n", 1)[0])
                    drop = self.dropped == 0 and self.match in req
                    if drop:
                        self.dropped += 1
                up.sendall(req)
                resp = _read_http_message(up)
                if drop or not resp:
                    return  # the daemon answered; the client never hears it
                c.sendall(resp)
        except OSError:
            return
        finally:
            c.close()
            up.close()


def _read_http_message(s: socket.socket) -> bytes:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return b""
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest
