"""Blocking HTTP/1.1 transport on http.client: timeouts, bounded retries, no token leaks."""
from __future__ import annotations

import http.client
import json
import logging
import random
import ssl
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from .errors import (APIError, Conflict, InvalidArguments, InvalidRequest, NotFound,
                     PermissionDenied, Unauthenticated, Unavailable)

log = logging.getLogger("interlock")

# Codes of a 503 worth retrying: the daemon is busy or starting, not refusing.
_RETRY_503 = {"UNAVAILABLE", "NOT_READY", "STORE_UNAVAILABLE"}


class Transport:
    """One request per connection (no state shared between threads)."""

    def __init__(self, url: str, token: str, timeout: float, retries: int, backoff: float,
                 max_backoff: float, ca_file: Optional[str]):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be http(s)://HOST[:PORT][/PREFIX]")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("url must not carry credentials, a query or a fragment")
        if not token or not token.isascii() or not token.isprintable() or \
                any(c.isspace() for c in token):
            raise ValueError("a token is required (argument or INTERLOCK_TOKEN)")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.base_url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, self.prefix, "", ""))
        self._token = token
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._ssl = None
        if parts.scheme == "https":
            self._ssl = ssl.create_default_context(cafile=ca_file)

    def redact(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._ssl is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=self._ssl)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _once(self, method: str, path: str, body: Optional[bytes], headers: Dict[str, str],
              timeout: float) -> Tuple[int, bytes]:
        conn = self._connect(timeout)
        try:
            conn.request(method, self.prefix + path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def request(self, method: str, path: str, body: Any = None, *,
                idempotency_key: Optional[str] = None, timeout: Optional[float] = None,
                deadline: Optional[float] = None, extra_headers: Optional[Dict[str, str]] = None,
                decision_400: bool = False) -> Tuple[int, Any]:
        """Sends the request; retries network failures and 503 with backoff.

        A request with a body is retried only when it carries an Idempotency-Key (the same
        key on every attempt), or when the connection was refused (nothing was sent).
        Returns (status, parsed JSON or None) for 2xx, and for a 400 whose body is a deny
        decision when ``decision_400`` (the decision endpoints); raises the typed error
        otherwise.
        """
        try:
            data = None if body is None else json.dumps(
                body, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as e:
            raise InvalidArguments(f"{method} {path}: the body is not JSON: {e}") from None
        headers = {"Authorization": "Bearer " + self._token, "Accept": "application/json",
                   "User-Agent": "interlock-client-python/0.1"}
        if data is not None or method == "POST":
            headers["Content-Type"] = "application/json"
            if data is None:
                data = b""
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if extra_headers:
            headers.update(extra_headers)
        per_try = timeout if timeout is not None else self.timeout
        retry_anything = method == "GET" or idempotency_key is not None
        attempt = 0
        last = ""
        while True:
            attempt += 1
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Unavailable(f"{method} {path}: deadline passed ({last or 'no answer'})",
                                      attempt - 1)
                per_try = min(per_try, left)
            sent = True
            try:
                status, raw = self._once(method, path, data, headers, per_try)
            except ConnectionRefusedError as e:
                sent = False
                last = f"connection refused ({e.__class__.__name__})"
                status, raw = 0, b""
            except (OSError, http.client.HTTPException) as e:
                # socket.timeout is an OSError; RemoteDisconnected an HTTPException.
                last = f"{e.__class__.__name__}: {self.redact(str(e))}"
                status, raw = 0, b""
            if status:
                parsed = _parse(raw)
                if status == 503 and _code(parsed) in _RETRY_503:
                    last = f"HTTP 503 {_code(parsed)}"
                else:
                    log.debug("%s %s -> %d", method, path, status)
                    return self._result(method, path, status, parsed, decision_400)
            may_retry = attempt <= self.retries and (retry_anything or not sent)
            log.warning("%s %s failed (attempt %d): %s%s", method, path, attempt, last,
                        "; retrying" if may_retry else "")
            if not may_retry:
                raise Unavailable(f"{method} {path}: daemon unavailable after {attempt} "
                                  f"attempt(s): {last}", attempt)
            pause = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
            pause *= 0.5 + random.random() / 2
            if deadline is not None:
                pause = min(pause, max(0.0, deadline - time.monotonic()))
            time.sleep(pause)

    def _result(self, method: str, path: str, status: int, parsed: Any,
                decision_400: bool) -> Tuple[int, Any]:
        if 200 <= status < 300 or decision_400 and status == 400 and \
                isinstance(parsed, dict) and "decision" in parsed:
            return status, parsed
        code = _code(parsed) or "HTTP_%d" % status
        reason = parsed.get("reason", "") if isinstance(parsed, dict) else ""
        reason = self.redact(reason) if isinstance(reason, str) else ""
        cls = {400: InvalidRequest, 401: Unauthenticated, 403: PermissionDenied,
               404: NotFound, 409: Conflict}.get(status, APIError)
        if status == 503:
            raise Unavailable(f"{method} {path}: HTTP 503 {code}: {reason}", 1)
        raise cls(status, code, reason, method, path)


def _parse(raw: bytes) -> Any:
    """The answer's JSON, or None: not JSON, or an object naming a member twice (json.loads
    would keep the last silently; a decision must mean one thing)."""
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_members)
    except (UnicodeDecodeError, ValueError):
        return None


def _unique_members(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a JSON object names a member twice")
    return out


def _code(parsed: Any) -> str:
    if isinstance(parsed, dict) and isinstance(parsed.get("code"), str):
        return parsed["code"]
    return ""

